/* Rows of whitespace-separated integers (a Pulseq [BLOCKS] section), parsed straight into columns, for
 * wavegen.sequence.seq_scan.
 *
 * buf[0..n) holds whole lines ('\n' ends a line; ' ', '\t' and '\r' separate fields; '#' starts a comment
 * that runs to the line end; blank and comment-only lines are skipped). Every other line must hold exactly
 * ncol fields, each an optional '-' and 1 to 18 decimal digits (so it fits int64 without overflow). Field c
 * of the r-th data row goes to out[c * stride + row0 + r]; at most max_rows rows are written.
 *
 * Returns 0 when every line was taken (*rows_done = data rows written), else the 1-based number (within buf)
 * of the first line the fast parser does not take (a field that is not such an integer, a wrong field
 * count, more rows than max_rows): the caller then re-reads the section with its strict parser, which
 * names the line and what is wrong. Nothing is read outside buf[0..n).
 */
#include <stdint.h>

int64_t wg_parse_int_rows(const char *buf, int64_t n, int64_t ncol, int64_t *out, int64_t stride, int64_t row0,
                          int64_t max_rows, int64_t *rows_done)
{
    int64_t i = 0, line = 1, rows = 0;
    *rows_done = 0;
    if (ncol <= 0 || stride < 0 || row0 < 0)
        return 1;
    while (i < n) {
        int64_t field = 0;
        for (;;) {
            while (i < n && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r'))
                ++i;
            if (i >= n || buf[i] == '\n' || buf[i] == '#')
                break;
            int neg = 0;
            if (buf[i] == '-') {
                neg = 1;
                ++i;
            }
            int64_t v = 0, digits = 0;
            while (i < n && buf[i] >= '0' && buf[i] <= '9') {
                if (++digits > 18)
                    return line;
                v = v * 10 + (buf[i] - '0');
                ++i;
            }
            if (digits == 0)
                return line;
            if (i < n && !(buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n' || buf[i] == '#'))
                return line;
            if (field >= ncol || rows >= max_rows)
                return line;
            out[field * stride + row0 + rows] = neg ? -v : v;
            ++field;
        }
        if (i < n && buf[i] == '#')
            while (i < n && buf[i] != '\n')
                ++i;
        if (field != 0) {
            if (field != ncol)
                return line;
            ++rows;
        }
        if (i < n) /* at '\n' */
            ++i;
        ++line;
    }
    *rows_done = rows;
    return 0;
}
