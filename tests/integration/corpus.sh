#!/bin/bash
# Ordinary programs stay ordinary (issue 5, item 7): a corpus of common
# programs, each run three times from an identical scratch directory:
# without the shim, under LD_PRELOAD (default policy) and under
# LD_PRELOAD with REBIND_LINGER=safe-abort.  stdout, stderr and the exit
# status must be identical.  LD_PRELOAD reaches every process of a case
# (bash, the pipeline, the children), and two small HTTP servers (one
# plain, one under the shim) serve the curl, wget and /dev/tcp cases.
# A case whose programs are missing is skipped with a note; at least
# MIN_CASES must run, else the test fails.  In a sanitizer build every
# run, the reference too, preloads the ASan runtime, so only rebind
# differs; a case that times out or trips ASan in the reference run is
# skipped with a note (curl, wget and split do, on Debian 12).
#
# Then the early-calls check: a library whose constructor makes socket
# calls (socket, bind, listen, connect, accept, close) before rebind's
# constructor has run.  Those calls must reach rebind's hooks (rebind
# sets SO_REUSEADDR on that listener: proof the hook acted) and behave
# as without rebind, and the program must still work.

. "${srcdir:-.}/tests/integration/lib.sh" || exit 99

MIN_CASES=25
CC=${CC:-cc}
# The reference run preloads what every run needs besides rebind: in a
# sanitizer build the ASan runtime (it changes some programs on its own).
REF_PRELOAD=${SANITIZER_RUNTIME:-}
export LC_ALL=C TZ=UTC PYTHON3
export HOME="$TMP/home"
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=Corpus GIT_AUTHOR_EMAIL=corpus@example.org
export GIT_COMMITTER_NAME=Corpus GIT_COMMITTER_EMAIL=corpus@example.org
export GIT_AUTHOR_DATE='2020-01-02T03:04:05Z' GIT_COMMITTER_DATE='2020-01-02T03:04:05Z'
mkdir -p "$HOME" "$TMP/bin" || hard_error "mkdir"

# The files every case starts from, with fixed times.
FIX=$TMP/fixture
mkdir -p "$FIX/tree/sub/deeper" "$FIX/www" || hard_error "mkdir $FIX"
printf 'alpha\nbeta needle\ngamma\n' >"$FIX/tree/a.txt"
printf 'one\ntwo needle\n' >"$FIX/tree/sub/b.txt"
seq 1 500 >"$FIX/tree/sub/numbers"
head -c 3000 /dev/zero | tr '\0' x >"$FIX/tree/sub/deeper/x.dat"
ln -s a.txt "$FIX/tree/link"
printf 'hello from the corpus\n' >"$FIX/www/hello.txt"
seq 1 20000 >"$FIX/www/big.txt"
find "$FIX" -exec touch -h -d '2020-01-02 03:04:05 UTC' {} + ||
	hard_error "touch $FIX"
export FIX

# A daemon in the classic style: fork, setsid, fork, close every
# descriptor up to the limit one by one, then use sockets and write a
# result file (renamed into place when complete).
cat >"$TMP/daemon.c" <<'EOF'
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static long purge(long *ebadf)
{
	struct rlimit rl;
	long max = 1L << 20, closed = 0;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)max)
		max = (long)rl.rlim_cur;
	for (long fd = 0; fd < max; fd++) {
		if (close((int)fd) == 0)
			closed++;
		else if (errno == EBADF)
			(*ebadf)++;
	}
	return closed;
}

static void talk(int out)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	char buf[16] = "";
	int l = socket(AF_INET, SOCK_STREAM, 0), c, s;
	ssize_t n, eof;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(l, (struct sockaddr *)&a, len) || listen(l, 4) ||
	    getsockname(l, (struct sockaddr *)&a, &len))
		dprintf(out, "listener failed: %s\n", strerror(errno));
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(c, (struct sockaddr *)&a, len))
		dprintf(out, "connect failed: %s\n", strerror(errno));
	s = accept(l, NULL, NULL);
	n = write(c, "hello", 5) == 5 ? read(s, buf, sizeof(buf) - 1) : -1;
	close(c);
	eof = read(s, buf + 8, 4);
	dprintf(out, "fds l=%d c=%d s=%d read=%zd '%.5s' then %zd\n", l, c, s,
		n, buf, eof);
	dprintf(out, "close s=%d l=%d\n", close(s), close(l));
}

int main(int argc, char **argv)
{
	char tmp[4096];
	long closed, ebadf = 0;
	int out;

	if (argc != 2 || fork() != 0)
		return argc != 2;
	setsid();
	if (fork() != 0)
		_exit(0);
	closed = purge(&ebadf);
	if (open("/dev/null", O_RDWR) != 0 || dup(0) != 1 || dup(0) != 2)
		_exit(1);
	snprintf(tmp, sizeof(tmp), "%s.tmp", argv[1]);
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dprintf(out, "out fd %d; closed %ld; every other close EBADF: %s\n",
		out, closed, ebadf > 0 ? "yes" : "no");
	talk(out);
	close(out);
	return rename(tmp, argv[1]) != 0;
}
EOF

# The early library: its constructor's socket calls, and what it saw,
# in $EARLY_REPORT (the SO_REUSEADDR line separate: it differs).
cat >"$TMP/early.c" <<'EOF'
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

__attribute__((constructor)) static void early(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a), ol = sizeof(int);
	const char *path = getenv("EARLY_REPORT");
	int l, c, s, r[5], reuse = -1, bad, bad_errno, fd;
	char buf[8] = "";
	ssize_t n;

	if (!path)
		return;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	r[0] = bind(l, (struct sockaddr *)&a, len);
	r[1] = listen(l, 1);
	r[2] = getsockname(l, (struct sockaddr *)&a, &len);
	c = socket(AF_INET, SOCK_STREAM, 0);
	r[3] = connect(c, (struct sockaddr *)&a, len);
	s = accept(l, NULL, NULL);
	n = write(c, "early", 5) == 5 ? read(s, buf, 5) : -1;
	r[4] = getsockopt(l, SOL_SOCKET, SO_REUSEADDR, &reuse, &ol);
	errno = 0;
	bad = close(-1);
	bad_errno = errno;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dprintf(fd, "socket %s bind %d listen %d getsockname %d connect %d "
		    "accept %s read %zd '%.5s' getsockopt %d close(-1) %d %s "
		    "closes %d %d %d\n",
		l >= 0 && c >= 0 ? "ok" : "failed", r[0], r[1], r[2], r[3],
		s >= 0 ? "ok" : "failed", n, buf, r[4], bad,
		strerror(bad_errno), close(s), close(c), close(l));
	dprintf(fd, "reuseaddr %d\n", reuse);
	close(fd);
}
EOF

HAVE_CC=0
if command -v "$CC" >/dev/null 2>&1; then
	"$CC" -O1 -o "$TMP/bin/daemonize" "$TMP/daemon.c" ||
		hard_error "cannot build the test daemon with $CC"
	"$CC" -O1 -shared -fPIC -o "$TMP/libearly.so" "$TMP/early.c" ||
		hard_error "cannot build libearly.so with $CC"
	HAVE_CC=1
fi
export PATH="$TMP/bin:$PATH"

# Two static-file servers on 127.0.0.1 for the HTTP clients: one plain,
# one under the shim (default policy).  Quiet; "ready PORT" when listening.
cat >"$TMP/httpd.py" <<'EOF'
import functools, http.server, sys

class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

srv = http.server.ThreadingHTTPServer(
    ("127.0.0.1", 0), functools.partial(Quiet, directory=sys.argv[1]))
print("ready", srv.server_address[1], flush=True)
srv.serve_forever()
EOF
# httpd NAME VAR [env ...]: start one, set VAR to its port.
httpd() {
	local name=$1 var=$2 i=0
	shift 2
	timeout 120 "$@" "$PYTHON3" "$TMP/httpd.py" "$FIX/www" \
		>"$TMP/$name.out" 2>"$TMP/$name.err" &
	PIDS="$PIDS $!"
	while ! grep -q '^ready ' "$TMP/$name.out"; do
		i=$((i + 1))
		[ $i -lt 500 ] || hard_error "$name did not start: $(cat "$TMP/$name.err")"
		sleep 0.02
	done
	printf -v "$var" %s "$(sed -n 's/^ready //p' "$TMP/$name.out")"
}
httpd httpd-plain HTTP_PLAIN env
httpd httpd-shim HTTP_SHIM env LD_PRELOAD="$SHIM_PRELOAD"
export HTTP_PLAIN HTTP_SHIM

# The cases: "NAME|PROGRAMS NEEDED|bash script".  The script runs in a
# fresh copy of $FIX; nothing in its output may depend on the time, the
# pid, a port number or the run.
CASES=(
'pipes|seq sort uniq head tr wc cut paste tee|
seq 1 2000 | sort -r | head -n 3
seq 100 | paste -sd+ | tr + "\n" | wc -l
printf "b\na\nb\nc\n" | sort | uniq -c
cut -d: -f1 /etc/passwd | sort | head -n 1
seq 5 | tee copy.txt | tail -n 1; wc -c <copy.txt'

'redirections|cat tr|
exec 3>out.txt; echo via-fd3 >&3; exec 3>&-
exec 4<out.txt; read -r line <&4; exec 4<&-; echo "read back: $line"
{ echo to-out; echo to-err >&2; } 2>&1 >/dev/null | tr a-z A-Z
cat <<EOF >>out.txt
heredoc line
EOF
cat out.txt
cat missing.txt 2>err.txt; echo "status $?"; cat err.txt
(exec 1>&-; echo lost 2>/dev/null); echo "after closed stdout: $?"
echo to-stderr >&2'

'bash-script|bash|
cat >s.sh <<"EOF"
set -u
declare -A seen
count() { local n=0; for w in "$@"; do n=$((n + 1)); seen[$w]=1; done; echo "$n words, ${#seen[@]} distinct"; }
count a b a c
trap "echo trap on exit" EXIT
arr=(x y z); echo "${arr[@]:1}" "${#arr[@]}"
( exit 3 ); echo "subshell $?"
f=$(printf "%s-" {1..5}); echo "${f%-}"
while read -r l; do echo "line: $l"; done < <(printf "p\nq\n")
[[ "abc" =~ ^a(b)c$ ]] && echo "match ${BASH_REMATCH[1]}"
exit 4
EOF
bash ./s.sh arg; echo "script exit $?"'

'sh-script|sh|
sh -c '"'"'set -e; x=$(echo 1); for i in 1 2 3; do x="$x$i"; done; echo "$x"; false || echo caught; exit 5'"'"'; echo "sh exit $?"'

'python-socket|python3|
"$PYTHON3" - <<"EOF"
import hashlib, socket, threading
data = bytes(range(256)) * 4096
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(5)
def serve():
    for _ in range(3):
        conn, _ = srv.accept()
        with conn:
            got = b""
            while True:
                b = conn.recv(65536)
                if not b:
                    break
                got += b
            conn.sendall(hashlib.sha256(got).hexdigest().encode() * 1000)
t = threading.Thread(target=serve)
t.start()
for i in range(3):
    c = socket.create_connection(srv.getsockname())
    c.sendall(data[: len(data) >> i])
    c.shutdown(socket.SHUT_WR)
    reply = c.makefile("rb").read()
    print(i, len(reply), reply[:64] == hashlib.sha256(data[: len(data) >> i]).hexdigest().encode())
    c.close()
t.join()
srv.close()
EOF'

'python-socketserver|python3|
"$PYTHON3" - <<"EOF"
import socket, socketserver, threading
class Echo(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            self.wfile.write(line.upper())
srv = socketserver.TCPServer(("127.0.0.1", 0), Echo)
t = threading.Thread(target=srv.serve_forever)
t.start()
for word in (b"one", b"two"):
    with socket.create_connection(srv.server_address) as c:
        c.sendall(word + b"\n" + word + b"\n")
        c.shutdown(socket.SHUT_WR)
        print(c.makefile("rb").read())
srv.shutdown()
srv.server_close()
t.join()
print("allow_reuse_address", srv.allow_reuse_address)
EOF'

'python-fds|python3|
"$PYTHON3" - <<"EOF"
import fcntl, os, socket, subprocess, sys
a, b = socket.socketpair()
d = os.dup(a.fileno())
os.dup2(d, 50)
e = fcntl.fcntl(50, fcntl.F_DUPFD_CLOEXEC, 60)
os.write(e, b"via dups")
print(b.recv(20), e >= 60)
for fd in (d, 50, e):
    os.close(fd)
u1 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u1.bind(("127.0.0.1", 0))
u2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u2.sendto(b"datagram", u1.getsockname())
print(u1.recvfrom(20)[0])
r, w = os.pipe()
p = subprocess.run([sys.executable, "-c", "import sys; sys.stdout.write(sys.stdin.read()[::-1])"], input=b"spawned", capture_output=True)
print(p.stdout, p.returncode)
try:
    os.close(r); os.close(r)
except OSError as ex:
    print("second close:", ex.strerror)
os.close(w)
EOF'

'perl-socket|perl|
perl -MIO::Socket::INET -e '"'"'
my $l = IO::Socket::INET->new(Listen => 5, LocalAddr => "127.0.0.1", LocalPort => 0, Proto => "tcp") or die "listen: $!";
my $port = $l->sockport;
my $pid = fork() // die "fork: $!";
if (!$pid) { my $c = $l->accept or die; my $in = <$c>; print $c "got $in", "z" x 200000; close $c; exit 7 }
my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $port, Proto => "tcp") or die "connect: $!";
print $s "ping\n";
local $/; my $d = <$s>;
printf "%s %d bytes\n", substr($d, 0, 9), length $d;
waitpid $pid, 0; print "child exit ", $? >> 8, "\n";
close $s or die; close $l or die;
print STDERR "done\n";
'"'"''

'perl-text|perl|
perl -e '"'"'my %h; $h{$_ % 7} += $_ for 1 .. 1000; print join(",", map { "$_=$h{$_}" } sort keys %h), "\n"; open(my $f, ">", "p.txt") or die; print $f "x\n" x 3; close $f; print -s "p.txt", "\n"; warn "warned\n"; exit 3'"'"''

'sort-large|awk sort sha256sum wc|
awk '"'"'BEGIN { x = 12345; for (i = 0; i < 200000; i++) { x = (x * 1103515245 + 12345) % 2147483648; printf "%d line-%d\n", x % 100000, i } }'"'"' >big.txt
sort big.txt | sha256sum
sort -n -k1,1 -k2,2 big.txt | head -n 3
sort -S 1M -T . --parallel=2 -u -n -k1,1 big.txt | wc -l
sort -r big.txt | tail -n 2'

'tar|tar gzip|
tar -C tree --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -czf t.tgz .
tar -tzvf t.tgz
mkdir ex && tar -xzf t.tgz -C ex && diff -r tree ex && echo extracted-same
tar -xzf missing.tgz; echo "status $?"'

'git|git|
mkdir repo && cd repo && git init -q -b main . && cp -r ../tree/. .
git add . && git commit -q -m "first commit" && echo change >>a.txt && git commit -q -am "second commit"
git tag v1 && git checkout -q -b side && echo side >c.txt && git add c.txt && git commit -q -m side
git checkout -q main && git merge -q --no-ff -m merge side
git log --format="%H %an <%ae> %ad %s" --date=iso-strict
git log --graph --oneline --all
git diff --stat v1~1 v1
git status --short; git cat-file -p "HEAD^{tree}"
cd .. && git clone -q --no-local "file://$PWD/repo" clone && git -C clone log --oneline -1
git -C repo show nosuchref; echo "status $?"'

'curl|curl|
for p in "$HTTP_PLAIN" "$HTTP_SHIM"; do
	curl -sS "http://127.0.0.1:$p/hello.txt"
	curl -sS "http://127.0.0.1:$p/big.txt" | sha256sum
	curl -sS -o /dev/null -w "%{http_code}\n" "http://127.0.0.1:$p/missing"
	curl -sS -o /dev/null -w "%{http_code} %{size_download}\n" "http://127.0.0.1:$p/big.txt" "http://127.0.0.1:$p/hello.txt"
done'

'wget|wget|
for p in "$HTTP_PLAIN" "$HTTP_SHIM"; do
	wget -q -O - "http://127.0.0.1:$p/hello.txt"
	wget -q -O - "http://127.0.0.1:$p/big.txt" | tail -n 1
	wget -q -O /dev/null "http://127.0.0.1:$p/missing"; echo "status $?"
done'

'bash-dev-tcp|bash|
for p in "$HTTP_PLAIN" "$HTTP_SHIM"; do
	exec 3<>"/dev/tcp/127.0.0.1/$p"
	printf "GET /hello.txt HTTP/1.0\r\n\r\n" >&3
	sed -n "1p;\$p" <&3 | tr -d "\r"
	exec 3<&-
done'

'python-urllib|python3|
"$PYTHON3" - <<"EOF"
import os, urllib.error, urllib.request
for port in (os.environ["HTTP_PLAIN"], os.environ["HTTP_SHIM"]):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/big.txt") as r:
        body = r.read()
        print(r.status, len(body), body[-6:])
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/nope")
    except urllib.error.HTTPError as e:
        print("error", e.code)
EOF'

'daemon|daemonize|
daemonize "$PWD/result"; echo "parent exit $?"
i=0; while [ ! -e result ] && [ $i -lt 500 ]; do sleep 0.02; i=$((i + 1)); done
cat result'

'find|find sort|
find tree -printf "%y %m %s %p -> %l\n" | sort
find tree -type f -name "*.txt" -newermt "2019-01-01" | sort
find tree -name nothing -print -quit; find no-such-dir; echo "status $?"'

'xargs|xargs seq sort tail|
seq 1 100 | xargs -n 7 echo | tail -n 2
printf "a b\0c\0" | xargs -0 -I{} sh -c "echo \"<\$1>\"" _ {}
seq 20 | xargs -P 4 -n 1 sh -c "echo \$((\$0 * \$0))" | sort -n | tail -n 3
echo x | xargs false; echo "status $?"'

'awk|awk|
awk "BEGIN { srand(7); for (i = 0; i < 3000; i++) s += int(rand() * 1000); print s }"
awk -F: "{ n[\$NF]++ } END { for (k in n) c++; print c > \"/dev/stderr\" }" /etc/passwd 2>&1 | wc -l
seq 10 | awk "{ s += \$1; printf \"%d:%d \", NR, s } END { print \"\" }"
awk "BEGIN { while ((\"echo via-getline\" | getline l) > 0) print l; system(\"echo via-system\") }"
awk "BEGIN { print 1/0 }"; echo "status $?"'

'sed|sed|
sed -n "2,4p;/needle/=" tree/a.txt
sed "s/a/A/g; y/lm/LM/" tree/a.txt
cp tree/a.txt e.txt && sed -i.bak -e "1d" -e "\$a appended" e.txt && cat e.txt e.txt.bak
sed -e "s/x/" tree/a.txt; echo "status $?"'

'gzip|gzip gunzip zcat sha256sum|
cp tree/sub/numbers n && gzip -9 -n n && sha256sum n.gz && gzip -l n.gz
zcat n.gz | tail -n 1; gunzip -t n.gz && echo intact
gunzip n.gz && wc -l n
printf "not gzip" | gzip -dc; echo "status $?"'

'checksums|sha256sum md5sum|
sha256sum tree/a.txt tree/sub/numbers >sums
md5sum tree/sub/b.txt
sha256sum -c sums
echo tampered >>tree/a.txt
sha256sum -c sums; echo "status $?"'

'od|od head|
printf "abc\001\377\n" | od -An -tx1 -c
head -c 64 /dev/zero | od
od -N 8 -tu2 tree/a.txt'

'env|env sh|
env -i PATH="$PATH" A=1 B=2 sh -c "echo \$A\$B \${HOME-unset}"
env -u HOME sh -c "echo \${HOME-unset}"
env CORPUS_X=y env | grep "^CORPUS_"
env no-such-program; echo "status $?"'

'seq|seq|
seq -w 1 3 20; seq -s, 1.5 0.5 4; seq 5 -1 1 | tr "\n" " "; echo
seq -f "%04g" 3; seq 1 0; echo "empty $?"
seq x; echo "status $?"'

'grep-r|grep sort|
grep -rn needle tree | sort
grep -rl --include="*.txt" a tree | sort
grep -rc needle tree | sort
grep -r --binary-files=without-match x tree | wc -l
grep -q nomatch tree/a.txt; echo "status $?"
grep -r needle no-such-dir; echo "status $?"'

'cp-r|cp diff ls|
cp -r tree copy && diff -r tree copy && echo same
cp -a tree copy2 && ls -lR --time-style=+%s copy2
cp -r no-such copy3; echo "status $?"'

'diff|diff cmp|
printf "a\nb\nc\n" >x && printf "a\nB\nc\nd\n" >y
diff x y; echo "status $?"
diff -u --label x --label y x y; echo "status $?"
cmp x y; echo "status $?"
mkdir d1 d2 && cp x d1 && cp y d2/x && diff -r d1 d2; echo "status $?"'

'stat|stat|
stat -c "%n %s %F %a %Y %h" tree/a.txt tree/sub tree/link tree/sub/numbers
stat -L -c "%n %s" tree/link
stat --printf="%s\n" no-such; echo "status $?"'

'split-join|split cat wc ls join comm|
split -l 150 -d tree/sub/numbers part. && ls part.* && cat part.* | wc -l
join <(printf "1 a\n2 b\n") <(printf "1 x\n3 y\n")
comm -3 <(printf "a\nb\n") <(printf "b\nc\n")'

'timeout-sleep|timeout sleep|
timeout 0.2 sleep 5; echo "status $?"
timeout --preserve-status -s INT 0.2 sleep 5; echo "status $?"
sleep 0.01 & wait $!; echo "waited $?"'

'socat|socat|
for p in "$HTTP_PLAIN" "$HTTP_SHIM"; do
	printf "GET /hello.txt HTTP/1.0\r\n\r\n" | socat -t 10 - "TCP:127.0.0.1:$p" | tail -n 1
done'

'make|make|
printf "all: out.txt\nout.txt: in.txt\n\tsort -r in.txt >out.txt\n\tcat out.txt\nfail:\n\t@false\n" >Makefile
seq 3 >in.txt && touch -d @0 in.txt
make -s; make -s; make -s fail 2>&1 | sed "s/ \\[.*//"; echo "status ${PIPESTATUS[0]}"'
)

# run N CONFIG SCRIPT: one run of case N in a fresh copy of the fixture,
# always at the same path; files $TMP/res/N.CONFIG.{out,err,st}.
run() {
	local n=$1 cfg=$2 script=$3 pre=()
	local w="$TMP/w/$n"
	rm -rf "$w" && mkdir -p "$w" && cp -a "$FIX/." "$w/" ||
		hard_error "cannot set up $w"
	case $cfg in
	plain) pre=(env ${REF_PRELOAD:+LD_PRELOAD="$REF_PRELOAD"}) ;;
	preload) pre=(env LD_PRELOAD="$SHIM_PRELOAD") ;;
	safe) pre=(env LD_PRELOAD="$SHIM_PRELOAD" REBIND_LINGER=safe-abort) ;;
	esac
	(cd "$w" && timeout 6 "${pre[@]}" bash -c "$script") </dev/null \
		>"$TMP/res/$n.$cfg.out" 2>"$TMP/res/$n.$cfg.err"
	echo $? >"$TMP/res/$n.$cfg.st"
}

# same N CFG PART: PART of CFG's run equals the plain run's.
same() {
	cmp -s "$TMP/res/$1.plain.$3" "$TMP/res/$1.$2.$3" && return 0
	echo "--- $1: $3 without the shim / with ($2):" >&2
	diff "$TMP/res/$1.plain.$3" "$TMP/res/$1.$2.$3" | head -n 20 >&2
	return 1
}

mkdir -p "$TMP/res" || hard_error "mkdir"
ran=0 bad=0 skipped=""
for c in "${CASES[@]}"; do
	name=${c%%|*}
	rest=${c#*|}
	needs=${rest%%|*}
	script=${rest#*|}
	missing=""
	for p in $needs; do
		case $p in
		python3) [ -x "$(command -v "$PYTHON3")" ] || missing="$missing $p" ;;
		*) command -v "$p" >/dev/null 2>&1 || missing="$missing $p" ;;
		esac
	done
	if [ -n "$missing" ]; then
		note "skipped $name: not installed:$missing"
		skipped="$skipped $name"
		continue
	fi
	run "$name" plain "$script"
	st=$(cat "$TMP/res/$name.plain.st")
	if [ "$st" = 124 ]; then
		note "skipped $name: it timed out without rebind${REF_PRELOAD:+ (with $REF_PRELOAD alone)}"
		skipped="$skipped $name"
		continue
	fi
	if [ -n "$REF_PRELOAD" ] && grep -q '^==[0-9]*==ERROR: AddressSanitizer' "$TMP/res/$name.plain.err"; then
		note "skipped $name: the ASan runtime alone reports an error in it"
		skipped="$skipped $name"
		continue
	fi
	for cfg in preload safe; do
		run "$name" "$cfg" "$script"
	done
	# A case that printed nothing would compare nothing.
	[ -s "$TMP/res/$name.plain.out" ] ||
		hard_error "$name printed nothing without the shim: $(cat "$TMP/res/$name.plain.err")"
	ok=1
	for cfg in preload safe; do
		for part in out err st; do
			same "$name" "$cfg" "$part" || ok=0
		done
	done
	if [ $ok = 1 ]; then
		note "same with and without the shim: $name (exit $st)"
	else
		echo "FAIL: $name differs under the shim" >&2
		bad=$((bad + 1))
	fi
	ran=$((ran + 1))
done

# The early-calls check.  Whether libearly's constructor runs before
# rebind's depends on the order in LD_PRELOAD and on the loader's
# dependency sort: LD_DEBUG=files shows it ("calling init: PATH").
early_first() {
	local log=$1 e r
	e=$(grep -n 'calling init: .*/libearly\.so$' "$log" | head -n 1 | cut -d: -f1)
	r=$(grep -n "calling init: .*/$(basename "$LIBREBIND")\$" "$log" | head -n 1 | cut -d: -f1)
	[ -n "$e" ] && [ -n "$r" ] && [ "$e" -lt "$r" ]
}

# early NAME PRELOAD: perl's socket case with PRELOAD (libearly, maybe
# rebind; the ASan runtime first in a sanitizer build); files $TMP/early.NAME.{out,err,st,rep}; for the two orders
# with rebind also .ld, the loader's log of the same preload for true(1).
early() {
	local name=$1 pre=$2
	mkdir -p "$TMP/w/early"
	(cd "$TMP/w/early" && LD_PRELOAD=$pre EARLY_REPORT="$TMP/early.$name.rep" \
		timeout 20 bash -c "$EARLY_SCRIPT") </dev/null \
		>"$TMP/early.$name.out" 2>"$TMP/early.$name.err"
	echo $? >"$TMP/early.$name.st"
	[ "$name" = plain ] && return
	LD_DEBUG=files LD_PRELOAD=$pre EARLY_REPORT=/dev/null "$TRUE" \
		2>"$TMP/early.$name.ld" >/dev/null
}

if [ $HAVE_CC = 0 ]; then
	note "NOT TESTED: early calls ($CC is not installed)"
elif ! command -v perl >/dev/null 2>&1; then
	note "NOT TESTED: early calls (perl is not installed)"
else
	for c in "${CASES[@]}"; do
		case $c in perl-socket\|*) EARLY_SCRIPT=${c#*|*|} ;; esac
	done
	TRUE=$(type -P true) || hard_error "no true(1)"
	early plain "${REF_PRELOAD:+$REF_PRELOAD:}$TMP/libearly.so"
	grep -qx 'reuseaddr 0' "$TMP/early.plain.rep" ||
		hard_error "early: without rebind: $(cat "$TMP/early.plain.rep")"
	grep -q '^socket ok bind 0 listen 0 getsockname 0 connect 0 accept ok read 5 .early. getsockopt 0 close(-1) -1 Bad file descriptor closes 0 0 0$' \
		"$TMP/early.plain.rep" ||
		hard_error "early: the library's calls fail without rebind: $(cat "$TMP/early.plain.rep")"
	before=""
	for order in early-first rebind-first; do
		case $order in
		early-first) early $order "${REF_PRELOAD:+$REF_PRELOAD:}$TMP/libearly.so:$LIBREBIND" ;;
		rebind-first) early $order "$SHIM_PRELOAD:$TMP/libearly.so" ;;
		esac
		ok=1
		for part in out err st; do
			cmp -s "$TMP/early.plain.$part" "$TMP/early.$order.$part" || {
				echo "--- early ($order): $part without rebind / with:" >&2
				diff "$TMP/early.plain.$part" "$TMP/early.$order.$part" >&2
				ok=0
			}
		done
		head -n 1 "$TMP/early.plain.rep" >"$TMP/early.plain.calls"
		head -n 1 "$TMP/early.$order.rep" >"$TMP/early.$order.calls"
		cmp -s "$TMP/early.plain.calls" "$TMP/early.$order.calls" || {
			echo "--- early ($order): the constructor's calls without rebind / with:" >&2
			diff "$TMP/early.plain.calls" "$TMP/early.$order.calls" >&2
			ok=0
		}
		if early_first "$TMP/early.$order.ld"; then
			before="$before $order"
			# rebind sets SO_REUSEADDR at listen(): its hook saw the call.
			grep -qx 'reuseaddr 1' "$TMP/early.$order.rep" || {
				echo "early ($order): the early listen() did not reach rebind: $(tail -n 1 "$TMP/early.$order.rep")" >&2
				ok=0
			}
		fi
		if [ $ok = 1 ]; then
			note "early calls ($order): same as without rebind"
		else
			echo "FAIL: early calls ($order)" >&2
			bad=$((bad + 1))
		fi
	done
	[ -n "$before" ] ||
		hard_error "early: in no LD_PRELOAD order did libearly's constructor run before rebind's (LD_DEBUG=files): this test cannot tell"
	note "early calls: libearly's constructor ran before rebind's with:$before"
fi

[ $bad = 0 ] || fail "$bad of $ran cases behave differently under the shim"
[ $ran -ge $MIN_CASES ] ||
	fail "only $ran programs ran (skipped:$skipped); at least $MIN_CASES must"
note "$ran programs behaved the same with and without the shim (skipped:${skipped:- none})"
exit 0
