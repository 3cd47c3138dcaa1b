#!/bin/bash
# A PHP daemon written with the sockets extension (socket_create,
# socket_bind, socket_listen, socket_accept, socket_write, socket_close;
# no SO_REUSEADDR; it closes each connection first) is restarted on its
# port while TIME_WAIT entries hold it.  PHP loads its extensions with
# dlopen(RTLD_DEEPBIND), so sockets.so binds socket() and listen() to
# libc past LD_PRELOAD.  Without the shim the restart must fail with
# EADDRINUSE (else 99); under LD_PRELOAD and under the wrapper two
# restarts in a row must succeed.

. "${srcdir:-.}/tests/integration/lib.sh" || exit 99

. "${srcdir:-.}/tests/integration/restart_lib.sh" || exit 99

command -v php >/dev/null 2>&1 || skip "php-cli is not installed"
php -r 'exit(extension_loaded("sockets") ? 0 : 1);' 2>/dev/null ||
	skip "PHP's sockets extension is missing"
# ASan's own dlopen() aborts the program on RTLD_DEEPBIND.
[ -z "${SANITIZER_RUNTIME:-}" ] ||
	skip "AddressSanitizer refuses dlopen(RTLD_DEEPBIND)"

# The premise: under LD_PRELOAD the dynamic linker still binds the
# extension's listen() to libc (rebind repoints it afterwards).
LD_DEBUG=bindings LD_PRELOAD="$SHIM_PRELOAD" php -r '' 2>"$TMP/bindings" ||
	hard_error "php -r '' failed: $(tail -n 3 "$TMP/bindings")"
grep -q "sockets\.so .* to .*libc\.so[^:]*: normal symbol \`listen'" \
	"$TMP/bindings" ||
	hard_error "sockets.so does not bind listen() to libc here (not loaded with RTLD_DEEPBIND?)"

# ready PORT on stdout once it listens; exit 2 when the port is taken.
cat >"$TMP/phpserver.php" <<'PHP'
<?php
$o = getopt("a:p:");
$addr = $o["a"] ?? "127.0.0.1";
$port = (int)($o["p"] ?? 0);
// No SO_REUSEADDR: like the many daemons written this way.
$s = socket_create(AF_INET, SOCK_STREAM, SOL_TCP);
if ($s === false || !@socket_bind($s, $addr, $port)) {
	$e = socket_last_error($s ?: null);
	fwrite(STDERR, "phpserver: bind $addr port $port: " .
		socket_strerror($e) . "\n");
	exit($e == SOCKET_EADDRINUSE ? 2 : 1);
}
socket_listen($s, 5);
socket_getsockname($s, $a, $p);
echo "ready $p\n";
while (($c = socket_accept($s)) !== false) {
	socket_read($c, 1024, PHP_NORMAL_READ);
	socket_write($c, "hello from phpserver\n");
	socket_close($c); // first, before the client: TIME_WAIT stays here
}
PHP

HOST=127.0.0.1
SERVER=(php "$TMP/phpserver.php" -a "$HOST")
case_run "PHP sockets IPv4"
exit 0
