// Package compat is the differential test harness (testing layer 3): it
// starts a real Apache ZooKeeper 3.8 and a zkd on loopback, runs the same
// scripted scenarios against both over a raw client built on zkd's own
// codec (zkd/jute, zkd/wire), and compares the transcripts (replies, error
// codes, Stats, watch events, connection closes) after normalizing zxids,
// session ids and times.
//
// Everything lives in the package's tests:
//
//	go test ./compat/                 # needs java and /usr/share/java/zookeeper.jar
//	ZKD_BIN=build/zkd go test ./compat/
//
// Without Java or the ZooKeeper jar the tests skip, unless CI=true, where
// they fail. One ZooKeeper and one zkd are started per configuration
// (specs in compat_test.go: "main", "reaper" with fast container/TTL
// reaping, "plain" without extended types and with a narrow 4lw
// whitelist); every scenario works under its own /s-<name> prefix.
//
// Environment:
//
//	ZKD_BIN=path        use this zkd binary instead of building ./cmd/zkd
//	COMPAT_DUMP=dir     write every side-by-side transcript to dir
//	COMPAT_ZK_LOG=1     give ZooKeeper a logger (slf4j-simple) for its server.log
//
// Server data and logs are kept in a temporary directory, printed, when
// the package fails. Scenarios where zkd is known to differ from ZooKeeper are
// listed in knownDiffs (compat_test.go): their diff is logged, not failed,
// and the test fails once such a scenario stops differing.
package compat
