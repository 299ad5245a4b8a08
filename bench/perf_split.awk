# perf_split.awk — sort `perf script -F comm,pid,ip,sym,dso` samples (taken
# with --call-graph dwarf) into cost buckets.  Usage:
#
#   awk -f perf_split.awk SYMFILE PERFSCRIPT
#
# SYMFILE has lines `BINARY SYMBOL SOURCEFILE` for swingsetd and
# testworker (from `nm -l`).  Each sample is given to the bucket of its *first owner
# frame*, walking from the leaf towards main: a frame in liblmdb,
# libjansson, libcrypto or libev, or a function of ours whose source file
# we know.  Frames in the Linux kernel, libc, the vdso and functions we
# cannot place (inlined helpers) are skipped, so the time a syscall, a
# malloc or a memcpy takes is charged to whoever called it: a write() from
# workers/worker.c is pipe, a pwrite() from liblmdb is LMDB, a malloc()
# from libjansson is JSON.  Samples with no owner frame are "unknown".
#
# Prints `PROCESS BUCKET SAMPLES` lines, PROCESS being daemon or worker,
# then `fn PROCESS SAMPLES FUNCTION [DSO]` lines, the self cost of each
# leaf function (libc and kernel frames included), and `via PROCESS BUCKET
# SAMPLES FUNCTION` lines: the bucket's samples by the innermost function
# of ours on their stack (who asked for the JSON, the LMDB call, …).

function bucket_of(sym, dso, file, key) {
	if (dso ~ /liblmdb/)		return "lmdb"
	if (dso ~ /libjansson/)		return "json"
	if (dso ~ /libcrypto/)		return "hash"
	if (dso ~ /libev\./)		return "pipe"
	if (dso ~ /(kernel|libc\.so|ld-linux|vdso|unknown)/)
		return ""
	sub(/\..*/, "", sym)		# foo.isra.0, foo.constprop.0
	key = bin SUBSEP sym
	if (!(key in src))
		return ""
	file = src[key]
	if (file ~ /daemon\/store_hash\.c$/)		return "hash"
	if (file ~ /daemon\/store[a-z_]*\.c$/)		return "lmdb"
	if (file ~ /daemon\/kmarshal\.c$/)		return "json"
	if (file ~ /testworker\/marshal\.c$/)		return "json"
	if (file ~ /testworker\/(pipe|main)\.c$/)	return "pipe"
	if (file ~ /testworker\//)			return "logic"
	if (file ~ /(workers\/|protocol\/netstring\.c$)/) return "pipe"
	if (file ~ /(daemon\/(control|ops)\.c|protocol\/control_msg\.c)$/)
		return "control"
	if (file ~ /protocol\/log\.c$/)			return "log"
	if (file ~ /daemon\//)				return "logic"
	return "other"
}

function flush_sample() {
	if (proc == "")
		return
	n[proc SUBSEP (owner == "" ? "unknown" : owner)]++
	total[proc]++
	if (leaf != "")
		fn[proc SUBSEP leaf]++
	vias[proc SUBSEP (owner == "" ? "unknown" : owner) SUBSEP \
	    (via == "" ? "-" : via)]++
	proc = ""
}

FNR == NR {			# the symbol file
	src[$1, $2] = $3
	next
}

/^[^ \t]/ {			# a sample's header: comm pid
	flush_sample()
	proc = ($1 ~ /^swingsetd/) ? "daemon" : "worker"
	bin = ($1 ~ /^swingsetd/) ? "swingsetd" : "testworker"
	owner = ""
	leaf = ""
	via = ""
	next
}

/^[ \t]+[0-9a-f]+ / && proc != "" {
	dso = $NF
	gsub(/[()]/, "", dso)
	sym = $2
	for (i = 3; i < NF; i++)
		sym = sym " " $i
	d = dso
	sub(/.*\//, "", d)
	if (dso == "inlined") {
		dso = "ours"
		sub(/ *\(inlined\)$/, "", sym)
	}
	if (leaf == "")
		leaf = sym " [" d "]"
	if (owner == "")
		owner = bucket_of(sym, dso)
	if (via == "" && (dso == "ours" || d == bin)) {
		s = sym
		sub(/\..*/, "", s)
		if ((bin SUBSEP s) in src)
			via = s
	}
	next
}

END {
	flush_sample()
	for (k in n) {
		split(k, a, SUBSEP)
		print a[1], a[2], n[k]
	}
	for (p in total)
		print p, "total", total[p]
	for (k in fn) {
		split(k, a, SUBSEP)
		print "fn", a[1], fn[k], a[2]
	}
	for (k in vias) {
		split(k, a, SUBSEP)
		print "via", a[1], a[2], vias[k], a[3]
	}
}
