#!/bin/sh
# pack.sh DIR: the files under DIR as an assembly file (standard output)
# that packs them into the image, for app/httpd (files.c).  The Makefile
# runs it on WWW= (default app/httpd/www) and assembles the output into
# both builds.
#
# Each file becomes one never-freed iobuf block (tcp/iobuf.h: refs 1,
# kind IOBUF_BLOCK_STATIC = 2, size; then the bytes, .incbin'd), so a
# response's body is an iobuf that views the file where it lies
# (iobuf_static): zero copy from the image to the wire.  Then a table,
# www_files, of struct www_file (http.h): the path as a URL sees it
# ("/index.html"), the block, the size and the modification time (Unix
# seconds, Last-Modified), sorted by path; www_nfiles counts them.
#
# Paths are limited to letters, digits and ._~- and '/' (no quoting
# needed here, none in URLs); a file with another name is left out with
# a warning on standard error.  The blocks are in .data (the reference
# count is written), the table in .data.rel.ro.
set -eu
dir=${1:?usage: pack.sh DIR}
[ -d "$dir" ] || { echo "pack.sh: $dir is not a directory" >&2; exit 1; }
dir=$(cd "$dir" && pwd)

echo "/* Made by app/httpd/pack.sh from $dir: do not edit. */"
echo '	.section .note.GNU-stack,"",@progbits'
n=0
table=
names=
for f in $(cd "$dir" && find . -type f | LC_ALL=C sort); do
	p=${f#.}
	case $p in
	*[!A-Za-z0-9._~/-]*) echo "pack.sh: $p left out: only A-Z a-z 0-9 . _ ~ - / in names" >&2; continue ;;
	esac
	size=$(stat -c %s "$dir$p")
	mtime=$(stat -c %Y "$dir$p")
	printf '\t.data\n\t.balign 16\nwww_block%d:\n\t.long 1, 2\n\t.quad %d\n\t.incbin "%s"\n' \
		"$n" "$size" "$dir$p"
	names="$names$(printf '\nwww_name%d:\t.asciz "%s"' "$n" "$p")"
	table="$table$(printf '\n\t.quad www_name%d, www_block%d, %d, %d' "$n" "$n" "$size" "$mtime")"
	n=$((n + 1))
done
printf '\t.section .rodata%s\n' "$names"
printf '\t.section .data.rel.ro\n\t.balign 8\n\t.globl www_files\nwww_files:%s\n' "$table"
printf '\t.globl www_nfiles\nwww_nfiles:\t.quad %d\n' "$n"
