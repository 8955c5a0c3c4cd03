/* vgxml.h — vgxml.c: drip's JSON leak report as valgrind's XML (protocol 4). */
#ifndef DRIP_CLI_VGXML_H
#define DRIP_CLI_VGXML_H

/* Writes xml_path from the JSON report at json_path: one <error> per leak record of the kinds
 * shown (definite and indirect always, possible with show_possible, reachable with
 * show_reachable). 0, or -1 with a one-line message on stderr. */
int drip__vgxml_convert(const char *json_path, const char *xml_path, int show_possible, int show_reachable);

#endif
