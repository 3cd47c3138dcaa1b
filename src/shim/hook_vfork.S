/*
 * vfork(): the child runs in the parent's memory, on the calling thread's
 * stack and thread-local storage, until it execs or exits, so a close()
 * or dup2() it makes would change the parent's descriptor table.  The
 * hook marks the calling thread (rb_vfork_mark; rb_table_owner() reads
 * it), bumps the fork generation as fork() does (the child gets a copy
 * of every descriptor), and jumps to libc's vfork.  It has no frame of
 * its own: the child and the parent each return to the caller with the
 * stack as the caller left it.  Built where configure defines
 * RB_VFORK_HOOK (glibc on x86, which exports __vfork); elsewhere vfork()
 * is not hooked and rb_table_owner() asks getpid() every time.  With
 * RB_VFORK_FLOOR (bench/passthrough_vfork.S) it only jumps: the
 * benchmark's floor.
 */
#include "config.h"

#ifdef __CET__
/* _CET_ENDBR, and the note that keeps the library's CET marking. */
#include <cet.h>
#else
#define _CET_ENDBR
#endif

#ifdef RB_VFORK_HOOK
	.text
	.globl	vfork
	.type	vfork, @function
vfork:
	.cfi_startproc
#if defined(__x86_64__) && defined(__LP64__)
	_CET_ENDBR
#ifndef RB_VFORK_FLOOR
	movq	rb_vfork_mark@gottpoff(%rip), %rax
	movb	$1, %fs:(%rax)
	lock incl rb_fork_generation(%rip)
#endif
	jmp	__vfork@PLT
#elif defined(__i386__)
	_CET_ENDBR
	call	rb_vfork_pc
	addl	$_GLOBAL_OFFSET_TABLE_, %ecx
#ifndef RB_VFORK_FLOOR
	movl	rb_vfork_mark@gotntpoff(%ecx), %eax
	movb	$1, %gs:(%eax)
	lock incl rb_fork_generation@GOTOFF(%ecx)
#endif
	jmp	*__vfork@GOT(%ecx)
#else
#error "RB_VFORK_HOOK on an architecture hook_vfork.S does not know"
#endif
	.cfi_endproc
	.size	vfork, .-vfork

#ifdef __i386__
/* The caller's address in %ecx, by a call that returns (a shadow stack
 * stays balanced). */
	.type	rb_vfork_pc, @function
rb_vfork_pc:
	.cfi_startproc
	_CET_ENDBR
	movl	(%esp), %ecx
	ret
	.cfi_endproc
	.size	rb_vfork_pc, .-rb_vfork_pc
#endif
#endif

	.section .note.GNU-stack,"",@progbits
