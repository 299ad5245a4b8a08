#!/bin/sh
# build.sh STAGE — the steps of `make xsnap` (see README.md here).
#
#   ci      npm ci from package-lock.json, with install scripts off
#   worker  build xsnap-worker (release and debug) from the sources that
#           @agoric/xsnap ships, with the package's own build step
#   vat-admin  bundle @agoric/swingset-vat's vat-vat-admin.js into
#           build/vat-admin.bundle.json (the static vatAdmin vat of xsnap
#           configurations) and its vats/timer/vat-timer.js into
#           build/vat-timer.bundle.json (the timer vat of configurations
#           with a timer device), with bundle.mjs
#   verify  check that the worker and the lockdown and supervisor bundles
#           are there and are the pinned ones; print their paths
#   jskernel  build the native addons of swingset-vat's own (JavaScript)
#           kernel, for tests/jskernel/run-swingset.mjs: better-sqlite3
#           and microtime, from source, against the headers node ships.
#           Not part of make xsnap (make jskernel).
#
# Every stage stops with a message naming what is missing or wrong.
set -eu
cd "$(dirname "$0")"

NM=node_modules
XSNAP=$NM/@agoric/xsnap
BINDIR=$XSNAP/xsnap-native/xsnap/build/bin/lin
LOCKDOWN=$NM/@agoric/xsnap-lockdown/dist/lockdown.bundle
SUPERVISOR=$NM/@agoric/swingset-xsnap-supervisor/dist/supervisor.bundle
STAMP=$NM/.swingsetd-npm-ci
VATADMIN_SRC=$NM/@agoric/swingset-vat/src/vats/vat-admin/vat-vat-admin.js
VATADMIN=build/vat-admin.bundle.json
VATTIMER_SRC=$NM/@agoric/swingset-vat/src/vats/timer/vat-timer.js
VATTIMER=build/vat-timer.bundle.json

die() {
	echo "make xsnap: $*" >&2
	exit 1
}

# have_cc — cc is on PATH and finds the C library's headers.
have_cc() {
	echo '#include <stdio.h>' | cc -E -x c - >/dev/null 2>&1
}

# need CMD:PKG … — every CMD must be on PATH (and, for cc, work); the
# Debian packages of the missing ones are installed with apt-get when
# root, else named.
need() {
	missing=""
	for cp in "$@"; do
		command -v "${cp%%:*}" >/dev/null 2>&1 ||
		    missing="$missing ${cp#*:}"
		if [ "${cp%%:*}" = cc ] && command -v cc >/dev/null 2>&1 &&
		    ! have_cc; then
			missing="$missing libc6-dev"
		fi
	done
	[ -z "$missing" ] && return 0
	cmd="apt-get install -y --no-install-recommends$missing"
	if [ "$(id -u)" -ne 0 ]; then
		die "missing Debian packages:$missing; run as root: apt-get update && $cmd"
	fi
	echo "make xsnap: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || die "apt-get update failed"
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing ||
	    die "apt-get install$missing failed"
	for cp in "$@"; do
		command -v "${cp%%:*}" >/dev/null 2>&1 ||
		    die "'${cp%%:*}' is still not on PATH after installing ${cp#*:}"
	done
	case " $* " in
	*" cc:"*) have_cc || die "cc cannot compile against the C library" ;;
	esac
}

case "${1:-}" in
ci)
	need node:nodejs npm:npm
	[ -f package-lock.json ] || die "workers/xsnap/package-lock.json is missing"
	rm -f "$STAMP"
	# Install scripts are off, whatever npm's version and allowScripts
	# policy would do: the only one we need (@agoric/xsnap's postinstall)
	# is run explicitly by the next stage; the others (better-sqlite3,
	# microtime: native Node addons for swingset-vat's own kernel) are
	# not used and would cost a node-gyp build.
	npm ci --ignore-scripts --no-audit --no-fund ||
	    die "npm ci failed in workers/xsnap"
	[ -d "$XSNAP" ] || die "npm ci did not install @agoric/xsnap"
	touch "$STAMP"
	;;
worker)
	need node:nodejs npm:npm cc:gcc make:make
	[ -f "$STAMP" ] || die "run the ci stage first (make xsnap does)"
	[ -f "$XSNAP/moddable/xs/includes/xs.h" ] ||
	    die "$XSNAP has no XS sources (moddable/xs); the build would try git"
	rm -f "$BINDIR/release/xsnap-worker" "$BINDIR/debug/xsnap-worker"
	# The package's build step: `npm run build:from-env` runs
	# src/build.js, which runs make on xsnap-worker.mk for GOAL=release
	# and GOAL=debug.  That makefile is not safe under -j (objects do not
	# depend on their directory), so no make flags of ours reach it.
	# Its compiler warnings go to the log only.
	log=$NM/.xsnap-build.log
	echo "make xsnap: building xsnap-worker (release and debug; log in workers/xsnap/$log)"
	if ! (cd "$XSNAP" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	    npm run build:from-env) >"$log" 2>&1; then
		tail -n 40 "$log" >&2
		die "building xsnap-worker failed (whole log: workers/xsnap/$log)"
	fi
	for goal in release debug; do
		[ -x "$BINDIR/$goal/xsnap-worker" ] ||
		    die "the build made no $BINDIR/$goal/xsnap-worker"
	done
	touch "$BINDIR/release/xsnap-worker"
	;;
vat-admin)
	need node:nodejs
	[ -f "$STAMP" ] || die "run the ci stage first (make xsnap does)"
	mkdir -p build
	node bundle.mjs "$VATADMIN_SRC" "$VATADMIN" ||
	    die "bundling $VATADMIN_SRC failed"
	node bundle.mjs "$VATTIMER_SRC" "$VATTIMER" ||
	    die "bundling $VATTIMER_SRC failed"
	;;
verify)
	want=$(node -p 'require("./package.json").dependencies["@agoric/xsnap"]')
	for goal in release debug; do
		w="$BINDIR/$goal/xsnap-worker"
		[ -x "$w" ] || die "workers/xsnap/$w is missing (rm -rf workers/xsnap/node_modules and make xsnap)"
		v=$("$w" -v) || die "$w -v failed"
		case "$v" in
		"xsnap $want "*) ;;
		*) die "$w reports '$v', expected xsnap $want" ;;
		esac
		if [ $goal = release ]; then rv=$v; fi
	done
	for b in "$LOCKDOWN" "$SUPERVISOR"; do
		[ -s "$b" ] || die "workers/xsnap/$b is missing"
		[ -s "$b.sha256" ] || die "workers/xsnap/$b.sha256 is missing"
		[ "$(sha256sum <"$b" | cut -d' ' -f1)" = "$(cat "$b.sha256")" ] ||
		    die "workers/xsnap/$b does not match its .sha256"
	done
	[ -s "$VATADMIN" ] || die "workers/xsnap/$VATADMIN is missing"
	[ -s "$VATTIMER" ] || die "workers/xsnap/$VATTIMER is missing"
	here=$(pwd)
	echo "xsnap-worker:      $here/$BINDIR/release/xsnap-worker ($rv)"
	echo "  debug build:     $here/$BINDIR/debug/xsnap-worker"
	echo "lockdown bundle:   $here/$LOCKDOWN"
	echo "supervisor bundle: $here/$SUPERVISOR"
	echo "vat-admin bundle:  $here/$VATADMIN"
	echo "timer vat bundle:  $here/$VATTIMER"
	;;
jskernel)
	need node:nodejs npm:npm cc:gcc c++:g++ make:make python3:python3
	[ -f "$STAMP" ] || die "run make xsnap first"
	# `require` both addons and open an in-memory database
	loads() {
		node -e 'require("better-sqlite3")(":memory:").close();
			require("microtime").now()' 2>/dev/null
	}
	if loads; then
		echo "jskernel: better-sqlite3 and microtime load"
		exit 0
	fi
	# node-gyp must not fetch node's headers from the network: give it
	# the ones installed with node (NodeSource's nodejs and node's own
	# tarballs put them in <prefix>/include/node), and check they are
	# for this node's ABI.
	prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
	nodedir=
	for d in "$prefix" /usr /usr/local; do
		if [ -f "$d/include/node/node_version.h" ] &&
		    [ -f "$d/include/node/common.gypi" ]; then
			nodedir=$d
			break
		fi
	done
	[ -n "$nodedir" ] ||
	    die "node's C headers (include/node/node_version.h) are not under $prefix, /usr or /usr/local; node-gyp would try to download them"
	abi=$(node -p process.versions.modules)
	habi=$(sed -n 's/^#define NODE_MODULE_VERSION \([0-9][0-9]*\).*/\1/p' \
	    "$nodedir/include/node/node_version.h")
	[ "$habi" = "$abi" ] ||
	    die "headers in $nodedir/include/node are for NODE_MODULE_VERSION '$habi', node is $abi"
	log=$NM/.jskernel-build.log
	echo "make jskernel: building better-sqlite3 with node-gyp (headers from $nodedir/include/node; log in workers/xsnap/$log)"
	# build_from_source: better-sqlite3's prebuild-install does not try
	# to download a binary, so its install script falls back to
	# `node-gyp rebuild`; microtime's node-gyp-build compiles (2 s)
	# instead of using the prebuilt binary it ships.  npm warns that it
	# does not know these two settings, but they reach the scripts as
	# environment variables all the same.  JOBS: node-gyp's make -j.
	if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	    npm_config_build_from_source=true npm_config_nodedir="$nodedir" \
	    JOBS=max npm rebuild better-sqlite3 microtime \
	    --foreground-scripts --no-audit --no-fund >"$log" 2>&1; then
		tail -n 40 "$log" >&2
		die "building better-sqlite3 failed (whole log: workers/xsnap/$log)"
	fi
	loads || die "better-sqlite3 or microtime still does not load (log: workers/xsnap/$log)"
	echo "jskernel: better-sqlite3 and microtime load"
	;;
*)
	die "usage: build.sh ci|worker|vat-admin|verify|jskernel"
	;;
esac
