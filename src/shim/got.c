#include "config.h"

#include "shim/got.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/log.h"

/*
 * The relocation types that put a symbol's address in a GOT entry: calls
 * through the PLT (JUMP_SLOT) and addresses taken or -fno-plt calls
 * (GLOB_DAT).  Function pointers stored in initialised data (R_*_64,
 * R_*_32) are left alone: their addend cannot be recovered on REL
 * architectures.  dladdr1() and RTLD_DEEPBIND are glibc's.
 */
#if defined(__x86_64__)
#define RB_R_SLOT R_X86_64_JUMP_SLOT
#define RB_R_DATA R_X86_64_GLOB_DAT
#elif defined(__i386__)
#define RB_R_SLOT R_386_JMP_SLOT
#define RB_R_DATA R_386_GLOB_DAT
#elif defined(__aarch64__)
#define RB_R_SLOT R_AARCH64_JUMP_SLOT
#define RB_R_DATA R_AARCH64_GLOB_DAT
#elif defined(__arm__)
#define RB_R_SLOT R_ARM_JUMP_SLOT
#define RB_R_DATA R_ARM_GLOB_DAT
#endif

#if defined(RB_R_SLOT) && defined(__GLIBC__) && defined(RTLD_DEEPBIND)

/* ELF64_R_SYM or ELF32_R_SYM, and so on, for this process. */
#define RB_ELF_(c, x) ELF##c##_##x
#define RB_ELF(c, x)  RB_ELF_(c, x)
#define RB_R_SYM      RB_ELF(__ELF_NATIVE_CLASS, R_SYM)
#define RB_R_TYPE     RB_ELF(__ELF_NATIVE_CLASS, R_TYPE)
#define RB_ST_TYPE    RB_ELF(__ELF_NATIVE_CLASS, ST_TYPE)
#define RB_ST_BIND    RB_ELF(__ELF_NATIVE_CLASS, ST_BIND)

/* What one object's dynamic section says, as addresses in memory. */
struct rb_dyn {
	ElfW(Addr) base;
	ElfW(Addr) symtab, strtab, versym, verneed, verdef, gnu_hash, hash;
	ElfW(Addr) rela, relasz, rel, relsz, jmprel, pltrelsz, pltrel;
	ElfW(Addr) soname;
};

struct rb_tag {
	ElfW(Sxword) tag;
	size_t off;
	int ptr;
};

#define RB_TAG(t, f, p)                                                        \
	{                                                                      \
		t, offsetof(struct rb_dyn, f), p                               \
	}

static const struct rb_tag tags[] = {
        RB_TAG(DT_SYMTAB, symtab, 1),     RB_TAG(DT_STRTAB, strtab, 1),
        RB_TAG(DT_VERSYM, versym, 1),     RB_TAG(DT_VERNEED, verneed, 1),
        RB_TAG(DT_VERDEF, verdef, 1),     RB_TAG(DT_GNU_HASH, gnu_hash, 1),
        RB_TAG(DT_HASH, hash, 1),         RB_TAG(DT_RELA, rela, 1),
        RB_TAG(DT_RELASZ, relasz, 0),     RB_TAG(DT_REL, rel, 1),
        RB_TAG(DT_RELSZ, relsz, 0),       RB_TAG(DT_JMPREL, jmprel, 1),
        RB_TAG(DT_PLTRELSZ, pltrelsz, 0), RB_TAG(DT_PLTREL, pltrel, 0),
        RB_TAG(DT_SONAME, soname, 0),
};

/* The versym bits: the version index, and "not the default version". */
enum { RB_VER_NDX = 0x7fff, RB_VER_HIDDEN = 0x8000 };

/*
 * An export of librebind: the addresses imports are pointed at.  glibc
 * has no 64 functions a shim would wrap; more are ignored (and logged).
 */
struct rb_export {
	const char *name;
	const char *version; /* NULL: unversioned, matches any reference */
	int hidden;          /* name@VER, not name@@VER */
	ElfW(Addr) addr;
};

enum { RB_EXPORTS_MAX = 64, RB_NEW_MAX = 256 };

static struct rb_export exports[RB_EXPORTS_MAX];
static size_t n_exports;
static pthread_once_t exports_once = PTHREAD_ONCE_INIT;
static size_t page_size;

/*
 * glibc rewrites d_ptr entries to run-time addresses, except in a
 * read-only dynamic section, which keeps link-time offsets: those are
 * smaller than the load address.
 */
static void dyn_read(struct rb_dyn *d, ElfW(Addr) base, const ElfW(Dyn) * dyn)
{
	memset(d, 0, sizeof(*d));
	d->base = base;
	for (; dyn->d_tag != DT_NULL; dyn++) {
		for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
			ElfW(Addr) v = dyn->d_un.d_ptr;

			if (tags[i].tag != dyn->d_tag)
				continue;
			if (tags[i].ptr && v < base)
				v += base;
			memcpy((char *)d + tags[i].off, &v, sizeof(v));
		}
	}
}

static const ElfW(Sym) * dyn_sym(const struct rb_dyn *d, size_t i)
{
	return (const ElfW(Sym) *)d->symtab + i;
}

static const char *dyn_str(const struct rb_dyn *d, ElfW(Word) off)
{
	return (const char *)d->strtab + off;
}

/* How many dynamic symbols: DT_HASH says so; DT_GNU_HASH must be walked
 * to the end of its last chain. */
static size_t dyn_sym_count(const struct rb_dyn *d)
{
	const uint32_t *h = (const uint32_t *)d->gnu_hash;
	const uint32_t *buckets, *chain;
	uint32_t last = 0;

	if (d->hash)
		return ((const uint32_t *)d->hash)[1];
	if (!h)
		return 0;
	buckets = (const uint32_t *)((const ElfW(Addr) *)(h + 4) + h[2]);
	chain = buckets + h[0];
	for (uint32_t i = 0; i < h[0]; i++)
		if (buckets[i] > last)
			last = buckets[i];
	if (last < h[1])
		return h[1];
	while (!(chain[last - h[1]] & 1))
		last++;
	return (size_t)last + 1;
}

/* The version tables chain their entries by byte offsets. */
static const void *at(const void *p, size_t off)
{
	return (const char *)p + off;
}

/* The version librebind defines symbol i in, or NULL (unversioned). */
static const char *def_version(const struct rb_dyn *d, size_t i, int *hidden)
{
	const ElfW(Half) *vs = (const ElfW(Half) *)d->versym;
	const ElfW(Verdef) *vd = (const ElfW(Verdef) *)d->verdef;
	unsigned ndx = vs ? vs[i] & RB_VER_NDX : 0;

	*hidden = vs && (vs[i] & RB_VER_HIDDEN);
	while (vd && ndx >= 2) {
		const ElfW(Verdaux) *a = at(vd, vd->vd_aux);

		if (vd->vd_ndx == ndx && !(vd->vd_flags & VER_FLG_BASE))
			return dyn_str(d, a->vda_name);
		vd = vd->vd_next ? at(vd, vd->vd_next) : NULL;
	}
	return NULL;
}

/* The version an object asks for in its import i, or NULL. */
static const char *need_version(const struct rb_dyn *d, size_t i)
{
	const ElfW(Half) *vs = (const ElfW(Half) *)d->versym;
	const ElfW(Verneed) *vn = (const ElfW(Verneed) *)d->verneed;
	unsigned ndx = vs ? vs[i] & RB_VER_NDX : 0;

	while (vn && ndx >= 2) {
		const ElfW(Vernaux) *a = at(vn, vn->vn_aux);

		for (unsigned k = 0; k < vn->vn_cnt; k++) {
			if (a->vna_other == ndx)
				return dyn_str(d, a->vna_name);
			a = at(a, a->vna_next);
		}
		vn = vn->vn_next ? at(vn, vn->vn_next) : NULL;
	}
	return NULL;
}

/*
 * librebind's own exports, read from its dynamic symbol table: the
 * version script decides what is hooked, and this list follows it.
 */
static void exports_build(void)
{
	Dl_info info;
	void *p = NULL;
	const struct link_map *self;
	struct rb_dyn d;
	size_t n;

	page_size = (size_t)sysconf(_SC_PAGESIZE);
	if (!dladdr1(exports, &info, &p, RTLD_DL_LINKMAP) || !p)
		return;
	self = p;
	dyn_read(&d, self->l_addr, self->l_ld);
	n = dyn_sym_count(&d);
	for (size_t i = 1; i < n && d.symtab && d.strtab; i++) {
		const ElfW(Sym) *s = dyn_sym(&d, i);
		struct rb_export *e = &exports[n_exports];

		if (s->st_shndx == SHN_UNDEF ||
		    RB_ST_TYPE(s->st_info) != STT_FUNC ||
		    RB_ST_BIND(s->st_info) == STB_LOCAL)
			continue;
		if (n_exports == RB_EXPORTS_MAX) {
			rb_log_msg(RB_LOG_WARN, "too many exports to patch: ",
			           dyn_str(&d, s->st_name));
			break;
		}
		e->name = dyn_str(&d, s->st_name);
		e->version = def_version(&d, i, &e->hidden);
		e->addr = self->l_addr + s->st_value;
		n_exports++;
	}
}

/*
 * The export a reference name@version binds to, as ld.so would choose:
 * the same version, else an unversioned export, else (for an
 * unversioned reference) the default version.
 */
static const struct rb_export *export_for(const char *name, const char *ver)
{
	const struct rb_export *any = NULL;

	for (size_t i = 0; i < n_exports; i++) {
		const struct rb_export *e = &exports[i];

		if (strcmp(e->name, name) != 0)
			continue;
		if (ver && e->version && strcmp(ver, e->version) == 0)
			return e;
		if (!e->version || (!ver && !e->hidden))
			any = e;
	}
	return any;
}

/* One object being patched: first counted (write 0), then written. */
struct rb_patch {
	struct rb_dyn d;
	ElfW(Addr) relro_lo, relro_hi; /* read-only after relocation */
	int write;
	int relro_open; /* the RELRO pages are writable now */
	size_t changes, relro_changes;
};

static void patch_one(struct rb_patch *p, ElfW(Addr) off, ElfW(Xword) info,
                      ElfW(Sxword) addend)
{
	size_t sym = RB_R_SYM(info);
	unsigned type = RB_R_TYPE(info);
	const ElfW(Sym) *s = dyn_sym(&p->d, sym);
	ElfW(Addr) *slot = (ElfW(Addr) *)(p->d.base + off);
	const struct rb_export *e;
	ElfW(Addr) want;
	int relro;

	/* A symbol the object defines itself stays its own: binding to
	 * its own copies first is what it asked RTLD_DEEPBIND for. */
	if ((type != RB_R_SLOT && type != RB_R_DATA) || sym == 0 ||
	    s->st_shndx != SHN_UNDEF)
		return;
	e = export_for(dyn_str(&p->d, s->st_name), need_version(&p->d, sym));
	if (!e)
		return;
	want = e->addr + (ElfW(Addr))addend;
	if (__atomic_load_n(slot, __ATOMIC_RELAXED) == want)
		return;
	relro = (ElfW(Addr))slot >= p->relro_lo &&
	        (ElfW(Addr))slot < p->relro_hi;
	p->changes++;
	p->relro_changes += (size_t)relro;
	/* One aligned word: a thread calling through it sees either. */
	if (p->write && (!relro || p->relro_open))
		__atomic_store_n(slot, want, __ATOMIC_RELAXED);
}

static void table_walk(struct rb_patch *p, ElfW(Addr) tab, ElfW(Addr) size,
                       int rela)
{
	if (!tab)
		return;
	if (rela) {
		const ElfW(Rela) *r = (const ElfW(Rela) *)tab;

		for (size_t i = 0; i < size / sizeof(*r); i++)
			patch_one(p, r[i].r_offset, r[i].r_info, r[i].r_addend);
	} else {
		const ElfW(Rel) *r = (const ElfW(Rel) *)tab;

		for (size_t i = 0; i < size / sizeof(*r); i++)
			patch_one(p, r[i].r_offset, r[i].r_info, 0);
	}
}

static void tables_walk(struct rb_patch *p)
{
	table_walk(p, p->d.rela, p->d.relasz, 1);
	table_walk(p, p->d.rel, p->d.relsz, 0);
	table_walk(p, p->d.jmprel, p->d.pltrelsz, p->d.pltrel == DT_RELA);
}

/* The pages glibc made read-only after relocation, as it rounds them. */
static void relro_range(struct rb_patch *p, const struct dl_phdr_info *info)
{
	for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		ElfW(Addr) lo = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type != PT_GNU_RELRO)
			continue;
		p->relro_lo = lo & ~(ElfW(Addr))(page_size - 1);
		p->relro_hi = (lo + ph->p_memsz) & ~(ElfW(Addr))(page_size - 1);
	}
}

/* Patches one object; returns how many entries now point at us. */
static size_t object_patch(const struct dl_phdr_info *info,
                           const ElfW(Dyn) * dyn)
{
	struct rb_patch p = {.write = 0};
	void *lo;
	size_t len;

	dyn_read(&p.d, info->dlpi_addr, dyn);
	if (!p.d.symtab || !p.d.strtab)
		return 0;
	relro_range(&p, info);
	tables_walk(&p);
	if (p.changes == 0)
		return 0;
	lo = (void *)p.relro_lo;
	len = p.relro_hi - p.relro_lo;
	if (p.relro_changes)
		p.relro_open = mprotect(lo, len, PROT_READ | PROT_WRITE) == 0;
	if (p.relro_changes && !p.relro_open)
		rb_log_msg(RB_LOG_WARN, "cannot unprotect the GOT of ",
		           info->dlpi_name);
	p.write = 1;
	tables_walk(&p);
	if (p.relro_open)
		(void)mprotect(lo, len, PROT_READ);
	return p.relro_open ? p.changes : p.changes - p.relro_changes;
}

static const ElfW(Dyn) * phdr_dynamic(const struct dl_phdr_info *info)
{
	for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
			return (const ElfW(Dyn) *)(info->dlpi_addr +
			                           info->dlpi_phdr[i].p_vaddr);
	return NULL;
}

static int seen_add(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct rb_got_seen *s = arg;
	const ElfW(Dyn) *dyn = phdr_dynamic(info);

	(void)size;
	if (dyn && s->n < s->cap)
		s->dyn[s->n++] = dyn;
	return 0;
}

static int count_one(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)info, (void)size;
	(*(size_t *)arg)++;
	return 0;
}

static int seen_has(const struct rb_got_seen *s, const void *dyn)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->dyn[i] == dyn)
			return 1;
	return 0;
}

/* The objects one dlopen() call loaded, and what became of them. */
struct rb_cover {
	const struct rb_got_seen *seen;
	const struct link_map *mine[RB_NEW_MAX];
	size_t n_mine;
	int listed;
	size_t patched;
};

/* Is dep what a DT_NEEDED entry `name` asked for? */
static int names(const struct link_map *dep, const char *name)
{
	struct rb_dyn d;
	const char *base = strrchr(dep->l_name, '/');

	if (strchr(name, '/'))
		return strcmp(dep->l_name, name) == 0;
	dyn_read(&d, dep->l_addr, dep->l_ld);
	if (d.soname && d.strtab && strcmp(dyn_str(&d, d.soname), name) == 0)
		return 1;
	return strcmp(base ? base + 1 : dep->l_name, name) == 0;
}

static int needed_by(const struct link_map *from, const struct link_map *dep)
{
	struct rb_dyn d;

	dyn_read(&d, from->l_addr, from->l_ld);
	for (const ElfW(Dyn) *e = from->l_ld; d.strtab && e->d_tag != DT_NULL;
	     e++)
		if (e->d_tag == DT_NEEDED &&
		    names(dep, dyn_str(&d, (ElfW(Word))e->d_un.d_val)))
			return 1;
	return 0;
}

/*
 * mine[0] is the object dlopen() returned.  glibc appends what it loads
 * to the namespace's list, the object first, then its dependencies, so
 * the objects after it that were not there before and that it (or one
 * of them) needs are the ones this call loaded.  Objects another thread
 * loaded meanwhile follow too; they are needed by none of these.
 */
static void cover_list(struct rb_cover *c)
{
	for (const struct link_map *l = c->mine[0]->l_next; l; l = l->l_next) {
		if (seen_has(c->seen, l->l_ld))
			continue;
		for (size_t i = 0; i < c->n_mine; i++) {
			if (!needed_by(c->mine[i], l))
				continue;
			if (c->n_mine == RB_NEW_MAX)
				return;
			c->mine[c->n_mine++] = l;
			break;
		}
	}
}

/*
 * glibc's dl_iterate_phdr() holds the loader's list lock (a recursive
 * one) across all the callbacks: the list cannot change under
 * cover_list(), no object is unmapped, and two threads never patch (and
 * unprotect RELRO) at once; the second finds nothing left to change.
 */
static int cover_one(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct rb_cover *c = arg;
	const ElfW(Dyn) *dyn = phdr_dynamic(info);

	(void)size;
	if (!c->listed) {
		cover_list(c);
		c->listed = 1;
	}
	for (size_t i = 0; dyn && i < c->n_mine; i++)
		if (c->mine[i]->l_ld == dyn)
			c->patched += object_patch(info, dyn);
	return 0;
}

bool rb_got_supported(void)
{
	return true;
}

bool rb_got_same_search(const char *file, const void *caller)
{
	Dl_info info;
	void *p = NULL;
	const struct link_map *l;

	if (strchr(file, '$'))
		return false;
	if (strchr(file, '/'))
		return true;
	if (!dladdr1(caller, &info, &p, RTLD_DL_LINKMAP) || !p)
		return false;
	l = p;
	for (const ElfW(Dyn) *d = l->l_ld; d->d_tag != DT_NULL; d++)
		if (d->d_tag == DT_RUNPATH || d->d_tag == DT_RPATH)
			return false;
	return true;
}

bool rb_got_before(struct rb_got_seen *seen)
{
	size_t n = 0;

	(void)pthread_once(&exports_once, exports_build);
	(void)dl_iterate_phdr(count_one, &n);
	/* Objects loaded between the count and the list come before what
	 * dlopen() loads: not recording them changes nothing. */
	seen->cap = n + 16;
	seen->n = 0;
	seen->dyn = malloc(seen->cap * sizeof(*seen->dyn));
	if (!seen->dyn)
		return false;
	(void)dl_iterate_phdr(seen_add, seen);
	return true;
}

void rb_got_cover(struct rb_got_seen *seen, const struct link_map *lm)
{
	int saved = errno;
	struct rb_cover c = {.seen = seen, .n_mine = 1};

	/* Already loaded: dlopen() changed nothing about its binding. */
	if (lm && !seen_has(seen, lm->l_ld)) {
		c.mine[0] = lm;
		(void)dl_iterate_phdr(cover_one, &c);
		if (c.n_mine == RB_NEW_MAX)
			rb_log_msg(RB_LOG_WARN, "too many objects to patch in ",
			           lm->l_name);
		if (c.patched)
			rb_log_msg(RB_LOG_INFO,
			           "RTLD_DEEPBIND: imports now bound to rebind "
			           "in ",
			           lm->l_name);
	}
	free(seen->dyn);
	seen->dyn = NULL;
	errno = saved;
}

#else /* no relocation types for this architecture, or not glibc */

bool rb_got_supported(void)
{
	return false;
}

bool rb_got_same_search(const char *file, const void *caller)
{
	(void)file, (void)caller;
	return false;
}

bool rb_got_before(struct rb_got_seen *seen)
{
	seen->dyn = NULL;
	seen->n = seen->cap = 0;
	return false;
}

void rb_got_cover(struct rb_got_seen *seen, const struct link_map *lm)
{
	(void)seen, (void)lm;
}

#endif
