#!/bin/bash
# A Perl IO::Socket::INET daemon (Listen, LocalAddr 127.0.0.1, LocalPort,
# no ReuseAddr; it closes each connection first) is restarted on its port
# while TIME_WAIT entries hold it.  Without the shim the restart must fail
# with EADDRINUSE (else 99); under LD_PRELOAD and under the wrapper two
# restarts in a row must succeed.

. "${srcdir:-.}/tests/integration/lib.sh" || exit 99

. "${srcdir:-.}/tests/integration/restart_lib.sh" || exit 99

command -v perl >/dev/null 2>&1 || skip "perl is not installed"
perl -MIO::Socket::INET -e 1 2>/dev/null || skip "Perl's IO::Socket::INET is missing"

# ready PORT on stdout once it listens; exit 2 when the port is taken.
cat >"$TMP/plserver.pl" <<'EOF'
use strict;
use warnings;
use Errno qw(EADDRINUSE);
use Getopt::Long;
use IO::Socket::INET;

my ($addr, $port) = ('127.0.0.1', 0);
GetOptions('a=s' => \$addr, 'p=i' => \$port) or exit 64;
$| = 1;
# No ReuseAddr: like the many daemons written this way.
my $srv = IO::Socket::INET->new(Listen => 5, LocalAddr => $addr,
				LocalPort => $port, Proto => 'tcp');
unless ($srv) {
	my $e = $! + 0;
	print STDERR "plserver: bind $addr port $port: $!\n";
	exit($e == EADDRINUSE ? 2 : 1);
}
print "ready ", $srv->sockport, "\n";
while (my $c = $srv->accept) {
	my $req = <$c>;
	print $c "hello from plserver\n";
	close $c;	# first, before the client: TIME_WAIT stays here
}
EOF

HOST=127.0.0.1
SERVER=(perl "$TMP/plserver.pl" -a "$HOST")
case_run "Perl IPv4"
exit 0
