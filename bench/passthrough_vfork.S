/* The floor's vfork(): librebind's entry without the mark, only the jump
 * to libc's, so that the floor exports what librebind does. */
#define RB_VFORK_FLOOR 1
#include "shim/hook_vfork.S"
