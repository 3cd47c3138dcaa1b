# A Perl IO::Socket::INET daemon for the hold tests (no ReuseAddr): a
# line in, a line out.  Usage: perl sd_daemon.pl HOST PORT
use strict;
use warnings;
use IO::Socket::INET;

my ($host, $port) = @ARGV;
my $l = IO::Socket::INET->new(Listen => 128, LocalAddr => $host,
	LocalPort => $port, Proto => 'tcp') or die "listen: $!\n";
$| = 1;
print "ready\n";
while (1) {
	my $c = $l->accept or next;
	my $line = <$c>;
	print $c "hello from perl\n";
	close $c;
}
