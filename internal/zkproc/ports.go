package zkproc

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Test servers get ports from below Linux's ephemeral range (32768-60999
// by default): a port found by listening on :0 and closing again can be
// handed out twice in a row, or taken by an outgoing connection before
// the server binds it. Each reserved port is held by an flock on a file
// under the temp dir, so test binaries running side by side (go test runs
// packages in parallel) and calls within one process never share a port;
// the kernel drops the lock when the holder exits, so nothing goes stale.
const (
	portLow  = 20000
	portHigh = 32000
)

// ReservePort returns a loopback port that no other ReservePort caller
// holds and that nothing is listening on, and the function that releases
// it.
func ReservePort() (int, func(), error) {
	dir := filepath.Join(os.TempDir(), "zkproc-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return 0, nil, err
	}
	start := portLow + rand.IntN(portHigh-portLow)
	for i := 0; i < portHigh-portLow; i++ {
		port := portLow + (start-portLow+i)%(portHigh-portLow)
		f, err := os.OpenFile(filepath.Join(dir, fmt.Sprint(port)), os.O_CREATE|os.O_RDWR, 0o666)
		if err != nil {
			return 0, nil, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				continue
			}
			return 0, nil, err
		}
		if !bindable(port) {
			f.Close()
			continue
		}
		return port, func() { f.Close() }, nil
	}
	return 0, nil, errors.New("no free port in the reserved range")
}

// bindable reports whether port can be listened on, on loopback and on
// every address (the AdminServer and some quorum configs bind 0.0.0.0).
func bindable(port int) bool {
	for _, host := range []string{"127.0.0.1", "0.0.0.0"} {
		l, err := net.Listen("tcp", net.JoinHostPort(host, fmt.Sprint(port)))
		if err != nil {
			return false
		}
		l.Close()
	}
	return true
}

// FreePort reserves a port (see ReservePort) for the rest of the test.
func FreePort(t testing.TB) int {
	t.Helper()
	port, release, err := ReservePort()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	return port
}
