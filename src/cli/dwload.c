/* dwload.c — libdw and libelf, loaded with dlopen when the symbolizer first needs them.
 *
 * Only symbolizing (symbolizer.c, symdata.c: `drip symbolize`, drip run's symbolizer server)
 * needs elfutils; linked into the drip binary, libdw.so.1 and what it brings (libelf, liblzma,
 * libbz2) were mapped and relocated in every `drip run`, about 0.3 ms of CPU and 35 page faults
 * before the program could start, and copied again by each fork. So the drip binary does not
 * link them: this file defines each libdw/libelf function the symbolizer calls, with the
 * library's own prototype (so symbolizer.c and symdata.c call them unchanged), and forwards the
 * call to the library's definition, found with dlvsym at the symbol version drip was built
 * against. drip run loads the library when the program has started (drip__dw_load), before it
 * forks the symbolizer server, so that the exiting program does not wait for the load.
 * A library that cannot be loaded is one line on stderr and exit status 2, as a missing shared
 * library was before. The drip binary exports none of these names: the libraries' own calls
 * stay their own.
 * Locks: none (the symbolizer is single-threaded; the load is idempotent).
 */
#include "cli.h"
#include "libload.h"

#include <dlfcn.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef DRIP_LIBDW_SONAME
#define DRIP_LIBDW_SONAME "libdw.so.1"
#endif

static void *lib;

int drip__dw_load(void)
{
    if (!lib)
        lib = dlopen(DRIP_LIBDW_SONAME, RTLD_NOW | RTLD_LOCAL);
    return lib ? 0 : -1;
}

/* libelf's functions come through libdw's dependencies */
#define DW_HINT "install elfutils' libdw (libdw1) to name frames"
#define FWD(ret, name, ver, params, args) DRIP_LIB_FWD(lib, DRIP_LIBDW_SONAME, DW_HINT, ret, name, ver, params, args)
#define FWD_VOID(name, ver, params, args)                                                   \
    void name params                                                                        \
    {                                                                                       \
        static void(*fn) params;                                                            \
        if (!fn)                                                                            \
            fn = (void(*) params)drip__lib_sym(&lib, DRIP_LIBDW_SONAME, #name, ver, DW_HINT); \
        fn args;                                                                            \
    }

/* libdw (dwarf_*) */
FWD(Dwarf_Attribute *, dwarf_attr, "ELFUTILS_0.122", (Dwarf_Die *die, unsigned int search_name, Dwarf_Attribute *result),
    (die, search_name, result))
FWD(int, dwarf_child, "ELFUTILS_0.122", (Dwarf_Die *die, Dwarf_Die *result), (die, result))
FWD(const char *, dwarf_diename, "ELFUTILS_0.122", (Dwarf_Die *die), (die))
FWD(int, dwarf_getscopes, "ELFUTILS_0.122", (Dwarf_Die *cudie, Dwarf_Addr pc, Dwarf_Die **scopes), (cudie, pc, scopes))
FWD(int, dwarf_getscopes_die, "ELFUTILS_0.122", (Dwarf_Die *die, Dwarf_Die **scopes), (die, scopes))
FWD(const char *, dwarf_decl_file, "ELFUTILS_0.143", (Dwarf_Die *decl), (decl))
FWD(int, dwarf_decl_line, "ELFUTILS_0.143", (Dwarf_Die *decl, int *linep), (decl, linep))
FWD(Dwarf_Off, dwarf_dieoffset, "ELFUTILS_0.122", (Dwarf_Die *die), (die))
FWD(int, dwarf_formblock, "ELFUTILS_0.122", (Dwarf_Attribute *attr, Dwarf_Block *return_block), (attr, return_block))
FWD(int, dwarf_getlocation, "ELFUTILS_0.122", (Dwarf_Attribute *attr, Dwarf_Op **expr, size_t *exprlen),
    (attr, expr, exprlen))
FWD(int, dwarf_haschildren, "ELFUTILS_0.122", (Dwarf_Die *die), (die))
FWD(int, dwarf_nextcu, "ELFUTILS_0.122",
    (Dwarf *dwarf, Dwarf_Off off, Dwarf_Off *next_off, size_t *header_sizep, Dwarf_Off *abbrev_offsetp,
     uint8_t *address_sizep, uint8_t *offset_sizep),
    (dwarf, off, next_off, header_sizep, abbrev_offsetp, address_sizep, offset_sizep))
FWD(Dwarf_Die *, dwarf_offdie, "ELFUTILS_0.122", (Dwarf *dbg, Dwarf_Off offset, Dwarf_Die *result), (dbg, offset, result))
FWD(int, dwarf_siblingof, "ELFUTILS_0.122", (Dwarf_Die *die, Dwarf_Die *result), (die, result))
FWD(int, dwarf_tag, "ELFUTILS_0.122", (Dwarf_Die *die), (die))

/* libdwfl (dwfl_*, in libdw) */
FWD(Dwfl *, dwfl_begin, "ELFUTILS_0.122", (const Dwfl_Callbacks *callbacks), (callbacks))
FWD_VOID(dwfl_end, "ELFUTILS_0.122", (Dwfl *dwfl), (dwfl))
FWD_VOID(dwfl_report_begin, "ELFUTILS_0.122", (Dwfl *dwfl), (dwfl))
FWD(Dwfl_Module *, dwfl_report_elf, "ELFUTILS_0.156",
    (Dwfl *dwfl, const char *name, const char *file_name, int fd, GElf_Addr base, bool add_p_vaddr),
    (dwfl, name, file_name, fd, base, add_p_vaddr))
FWD(int, dwfl_report_end, "ELFUTILS_0.122",
    (Dwfl *dwfl, int (*removed)(Dwfl_Module *, void *, const char *, Dwarf_Addr, void *arg), void *arg),
    (dwfl, removed, arg))
/* the two find callbacks (Dwfl_Callbacks): libdw calls them through these forwarders */
FWD(int, dwfl_build_id_find_elf, "ELFUTILS_0.130",
    (Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base, char **file_name, Elf **elfp),
    (mod, userdata, modname, base, file_name, elfp))
FWD(int, dwfl_build_id_find_debuginfo, "ELFUTILS_0.130",
    (Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base, const char *file_name,
     const char *debuglink_file, GElf_Word debuglink_crc, char **debuginfo_file_name),
    (mod, userdata, modname, base, file_name, debuglink_file, debuglink_crc, debuginfo_file_name))
FWD(int, dwfl_standard_find_debuginfo, "ELFUTILS_0.122",
    (Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base, const char *file_name,
     const char *debuglink_file, GElf_Word debuglink_crc, char **debuginfo_file_name),
    (mod, userdata, modname, base, file_name, debuglink_file, debuglink_crc, debuginfo_file_name))
FWD(const char *, dwfl_lineinfo, "ELFUTILS_0.122",
    (Dwfl_Line *line, Dwarf_Addr *addr, int *linep, int *colp, Dwarf_Word *mtime, Dwarf_Word *length),
    (line, addr, linep, colp, mtime, length))
FWD(const char *, dwfl_module_addrinfo, "ELFUTILS_0.158",
    (Dwfl_Module *mod, GElf_Addr address, GElf_Off *offset, GElf_Sym *sym, GElf_Word *shndxp, Elf **elfp,
     Dwarf_Addr *bias),
    (mod, address, offset, sym, shndxp, elfp, bias))
FWD(Dwarf_Die *, dwfl_module_addrdie, "ELFUTILS_0.122", (Dwfl_Module *mod, Dwarf_Addr addr, Dwarf_Addr *bias),
    (mod, addr, bias))
FWD(Dwarf *, dwfl_module_getdwarf, "ELFUTILS_0.122", (Dwfl_Module *mod, Dwarf_Addr *bias), (mod, bias))
FWD(Elf *, dwfl_module_getelf, "ELFUTILS_0.122", (Dwfl_Module *mod, GElf_Addr *bias), (mod, bias))
FWD(Dwfl_Line *, dwfl_module_getsrc, "ELFUTILS_0.122", (Dwfl_Module *mod, Dwarf_Addr addr), (mod, addr))
FWD(const char *, dwfl_module_getsym_info, "ELFUTILS_0.158",
    (Dwfl_Module *mod, int ndx, GElf_Sym *sym, GElf_Addr *addr, GElf_Word *shndxp, Elf **elfp, Dwarf_Addr *bias),
    (mod, ndx, sym, addr, shndxp, elfp, bias))
FWD(int, dwfl_module_getsymtab, "ELFUTILS_0.122", (Dwfl_Module *mod), (mod))

/* libelf (a dependency of libdw) */
FWD(int, elf_getshdrstrndx, "ELFUTILS_1.5", (Elf *elf, size_t *dst), (elf, dst))
FWD(Elf_Scn *, elf_nextscn, "ELFUTILS_1.0", (Elf *elf, Elf_Scn *scn), (elf, scn))
FWD(char *, elf_strptr, "ELFUTILS_1.0", (Elf *elf, size_t index, size_t offset), (elf, index, offset))
FWD(GElf_Shdr *, gelf_getshdr, "ELFUTILS_1.0", (Elf_Scn *scn, GElf_Shdr *dst), (scn, dst))
