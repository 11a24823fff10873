package server

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"zkd/wire"
)

// Config is a parsed zoo.cfg plus the Java system properties zkd honours.
// Keys and defaults are ZooKeeper's (QuorumPeerConfig, ZooKeeperServer).
type Config struct {
	Path                  string // the file it came from, if any
	DataDir               string
	DataLogDir            string
	ClientPort            int
	ClientPortAddress     string
	TickTime              int // ms
	MinSessionTimeout     int // ms; -1 means 2*TickTime
	MaxSessionTimeout     int // ms; -1 means 20*TickTime
	MaxClientCnxns        int
	InitLimit             int
	SyncLimit             int
	StandaloneEnabled     bool
	ReconfigEnabled       bool
	SnapRetainCount       int
	PurgeInterval         int // hours
	PeerType              string
	QuorumListenOnAllIPs  bool
	SyncEnabled           bool
	ElectionPortBindRetry int
	CnxTimeout            int
	DynamicConfigFile     string
	ServerID              int64
	Servers               []QuorumServer
	// Props holds Java system properties: -D flags, SERVER_JVMFLAGS and the
	// zoo.cfg keys ZooKeeper turns into "zookeeper.<key>" properties.
	Props map[string]string
	// Warnings collects what the parser skipped, for the caller to log.
	Warnings []string

	// MetricsProviderClassName is metricsProvider.className; the other
	// metricsProvider.* keys land in MetricsProviderProps without the
	// prefix, as QuorumPeerConfig hands them to the provider.
	MetricsProviderClassName string
	MetricsProviderProps     map[string]string
}

// QuorumServer is one server.N line.
type QuorumServer struct {
	ID           int64
	Host         string
	QuorumPort   int
	ElectionPort int
	Observer     bool
	ClientHost   string
	ClientPort   int
}

// DefaultConfig is the embedded default: standalone on 127.0.0.1:2181
// with data under ./data.
func DefaultConfig() *Config {
	c := newConfig()
	c.DataDir = "data"
	c.DataLogDir = "data"
	c.ClientPort = 2181
	c.ClientPortAddress = "127.0.0.1"
	c.TickTime = 2000
	c.Props["zookeeper.4lw.commands.whitelist"] = "*"
	// Like the client port, the AdminServer stays on loopback here.
	c.Props["zookeeper.admin.serverAddress"] = "127.0.0.1"
	return c
}

func newConfig() *Config {
	return &Config{
		TickTime:              3000,
		MinSessionTimeout:     -1,
		MaxSessionTimeout:     -1,
		MaxClientCnxns:        60,
		StandaloneEnabled:     true,
		SnapRetainCount:       3,
		PeerType:              "participant",
		SyncEnabled:           true,
		ElectionPortBindRetry: 3,
		CnxTimeout:            5000,
		Props:                 map[string]string{},

		MetricsProviderClassName: defaultMetricsProvider,
		MetricsProviderProps:     map[string]string{},
	}
}

// configKeys are the keys QuorumPeerConfig reads itself; others become
// "zookeeper."-prefixed system properties.
var configKeys = map[string]bool{
	"dataDir": true, "dataLogDir": true, "clientPort": true, "clientPortAddress": true,
	"secureClientPort": true, "secureClientPortAddress": true, "observerMasterPort": true,
	"clientPortListenBacklog": true, "tickTime": true, "maxClientCnxns": true,
	"minSessionTimeout": true, "maxSessionTimeout": true, "initLimit": true, "syncLimit": true,
	"connectToLearnerMasterLimit": true, "electionAlg": true, "quorumListenOnAllIPs": true,
	"peerType": true, "syncEnabled": true, "dynamicConfigFile": true,
	"autopurge.snapRetainCount": true, "autopurge.purgeInterval": true,
	"standaloneEnabled": true, "reconfigEnabled": true, "sslQuorum": true,
	"portUnification": true, "sslQuorumReloadCertFiles": true,
	"clientPortUnification": true, "localSessionsEnabled": true,
	"localSessionsUpgradingEnabled": true, "electionPortBindRetry": true, "cnxTimeout": true,
	"metricsProvider.className": true, "multiAddress.enabled": true,
	"multiAddress.reachabilityCheckTimeoutMs": true, "multiAddress.reachabilityCheckEnabled": true,
	"oraclePath": true,
}

// knownProps are the system properties zkd reads; a zoo.cfg key that maps
// to none of them and is not a config key draws a warning.
var knownProps = map[string]bool{
	"jute.maxbuffer": true, "zookeeper.jute.maxbuffer.extrasize": true,
	"zookeeper.4lw.commands.whitelist": true, "zookeeper.admin.enableServer": true,
	"zookeeper.admin.serverPort": true, "zookeeper.admin.serverAddress": true,
	"zookeeper.snapCount": true, "zookeeper.snapSizeLimitInKb": true,
	"zookeeper.txnLogSizeLimitInKb": true, "zookeeper.forceSync": true,
	"zookeeper.fsync.warningthresholdms": true, "zookeeper.preAllocSize": true,
	"zookeeper.digest.enabled": true, "zookeeper.closeSessionTxn.enabled": true,
	"zookeeper.extendedTypesEnabled": true, "zookeeper.emulate353TTLNodes": true,
	"zookeeper.DigestAuthenticationProvider.superDigest": true,
	"zookeeper.DigestAuthenticationProvider.digestAlg":   true,
	"zookeeper.skipACL": true, "zookeeper.snapshot.compression.method": true,
	"zookeeper.enforceQuota": true, "znode.container.checkIntervalMs": true,
	"znode.container.maxPerMinute": true, "znode.container.maxNeverUsedIntervalMs": true,
	"readonlymode.enabled": true, "zookeeper.serializeLastProcessedZxid.enabled": true,
	"zookeeper.commitLogCount": true, "zookeeper.snapshotSizeFactor": true,
	"zookeeper.globalOutstandingLimit": true, "zookeeper.maxCnxns": true,
	"zookeeper.admin.commandURL": true, "zookeeper.datadir.autocreate": true,
	"zookeeper.snapshot.trust.empty": true, "zookeeper.admin.idleTimeout": true, "zookeeper.leaderServes": true,
	"zookeeper.forceSnapshotSync": true, "zookeeper.electionPortBindRetry": true,
	"zookeeper.cnxTimeout": true, "zookeeper.fastleader.minNotificationInterval": true,
	"zookeeper.fastleader.maxNotificationInterval": true, "zookeeper.log.level": true,
	"zookeeper.purgeInterval": true,
}

// LoadConfig reads a zoo.cfg file. props are the -D flags; keys the file
// turns into system properties (zookeeper.<key>) are set over them, as
// QuorumPeerConfig sets them with System.setProperty.
func LoadConfig(path string, props map[string]string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c, err := ParseConfig(f, props)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c.Path = path
	if c.DynamicConfigFile != "" {
		if err := c.loadDynamic(c.DynamicConfigFile); err != nil {
			return nil, err
		}
	}
	if len(c.Servers) > 0 || c.DynamicConfigFile != "" {
		if err := c.readMyID(); err != nil {
			return nil, err
		}
	}
	return c, c.validate()
}

// ParseConfig reads zoo.cfg text.
func ParseConfig(r io.Reader, props map[string]string) (*Config, error) {
	c := newConfig()
	for k, v := range props {
		c.Props[k] = v
	}
	kv, err := readProperties(r)
	if err != nil {
		return nil, err
	}
	for _, p := range lastOfEachKey(kv) {
		if err := c.set(p[0], p[1]); err != nil {
			return nil, err
		}
	}
	if c.DataLogDir == "" {
		c.DataLogDir = c.DataDir
	}
	return c, nil
}

// lastOfEachKey keeps the last value of a repeated key, as
// java.util.Properties does, in the order of those last occurrences.
func lastOfEachKey(kv [][2]string) [][2]string {
	last := make(map[string]int, len(kv))
	for i, p := range kv {
		last[p[0]] = i
	}
	out := kv[:0:0]
	for i, p := range kv {
		if last[p[0]] == i {
			out = append(out, p)
		}
	}
	return out
}

// readProperties parses Java .properties text: key=value, key:value or
// key value; # and ! comments; backslash line continuation.
func readProperties(r io.Reader) ([][2]string, error) {
	var out [][2]string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var cont string
	for sc.Scan() {
		line := strings.TrimLeft(sc.Text(), " \t\f")
		if cont != "" {
			line = cont + line
			cont = ""
		}
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		if strings.HasSuffix(line, "\\") && !strings.HasSuffix(line, "\\\\") {
			cont = strings.TrimSuffix(line, "\\")
			continue
		}
		i := strings.IndexAny(line, "=: \t")
		var k, v string
		if i < 0 {
			k = line
		} else {
			k = line[:i]
			v = strings.TrimLeft(line[i:], " \t")
			if v != "" && (v[0] == '=' || v[0] == ':') {
				v = v[1:]
			}
		}
		out = append(out, [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
	}
	return out, sc.Err()
}

func (c *Config) set(k, v string) error {
	atoi := func() (int, error) {
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("%s: %q is not a number", k, v)
		}
		return n, nil
	}
	var err error
	switch {
	case k == "dataDir":
		c.DataDir = v
	case k == "dataLogDir":
		c.DataLogDir = v
	case k == "clientPort":
		c.ClientPort, err = atoi()
	case k == "clientPortAddress":
		c.ClientPortAddress = v
	case k == "tickTime":
		c.TickTime, err = atoi()
	case k == "maxClientCnxns":
		c.MaxClientCnxns, err = atoi()
	case k == "minSessionTimeout":
		c.MinSessionTimeout, err = atoi()
	case k == "maxSessionTimeout":
		c.MaxSessionTimeout, err = atoi()
	case k == "initLimit":
		c.InitLimit, err = atoi()
	case k == "syncLimit":
		c.SyncLimit, err = atoi()
	case k == "standaloneEnabled":
		c.StandaloneEnabled, err = parseBool(k, v)
	case k == "reconfigEnabled":
		c.ReconfigEnabled, err = parseBool(k, v)
	case k == "autopurge.snapRetainCount":
		c.SnapRetainCount, err = atoi()
		if c.SnapRetainCount < 3 {
			c.SnapRetainCount = 3
		}
	case k == "autopurge.purgeInterval":
		c.PurgeInterval, err = atoi()
	case k == "peerType":
		if v != "observer" && v != "participant" {
			return fmt.Errorf("unrecognised peertype: %s", v)
		}
		c.PeerType = v
	case k == "quorumListenOnAllIPs":
		c.QuorumListenOnAllIPs, err = parseBool(k, v)
	case k == "syncEnabled":
		c.SyncEnabled, err = parseBool(k, v)
	case k == "electionPortBindRetry":
		c.ElectionPortBindRetry, err = atoi()
	case k == "cnxTimeout":
		c.CnxTimeout, err = atoi()
	case k == "dynamicConfigFile":
		c.DynamicConfigFile = v
	case k == "metricsProvider.className":
		c.MetricsProviderClassName = v
	case strings.HasPrefix(k, "metricsProvider."):
		c.MetricsProviderProps[strings.TrimPrefix(k, "metricsProvider.")] = v
	case strings.HasPrefix(k, "server."):
		var s QuorumServer
		if s, err = parseServerLine(k, v); err == nil {
			c.Servers = append(c.Servers, s)
		}
	case strings.HasPrefix(k, "group.") || strings.HasPrefix(k, "weight."):
		c.Warnings = append(c.Warnings, "hierarchical quorums ("+k+") are not supported; ignored")
	case configKeys[k]:
		// read by ZooKeeper, not used by zkd
	default:
		prop := "zookeeper." + k
		if !knownProps[prop] && !knownProps[k] {
			c.Warnings = append(c.Warnings, "unknown configuration key "+k+" (kept as system property "+prop+")")
		}
		c.Props[prop] = v
	}
	return err
}

func parseBool(k, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "yes":
		return true, nil
	case "false", "no":
		return false, nil
	}
	return false, fmt.Errorf("%s: invalid boolean %q", k, v)
}

// parseServerLine reads
// server.N=host:quorumPort:electionPort[:participant|:observer][;[clientHost:]clientPort].
func parseServerLine(k, v string) (QuorumServer, error) {
	var s QuorumServer
	id, err := strconv.ParseInt(strings.TrimPrefix(k, "server."), 10, 64)
	if err != nil {
		return s, fmt.Errorf("%s: bad server id", k)
	}
	s.ID = id
	addr, client, hasClient := strings.Cut(v, ";")
	if hasClient {
		client = strings.TrimSpace(client)
		if h, p, err := net.SplitHostPort(client); err == nil {
			s.ClientHost = h
			s.ClientPort, err = strconv.Atoi(p)
			if err != nil {
				return s, fmt.Errorf("%s: bad client port in %q", k, client)
			}
		} else if p, err := strconv.Atoi(client); err == nil {
			s.ClientPort = p
		} else {
			return s, fmt.Errorf("%s: bad client address %q", k, client)
		}
	}
	// multiAddress "a:1:2|b:3:4" is reduced to its first address.
	addr, _, _ = strings.Cut(addr, "|")
	var host, rest string
	if strings.HasPrefix(addr, "[") {
		end := strings.Index(addr, "]")
		if end < 0 {
			return s, fmt.Errorf("%s: bad address %q", k, addr)
		}
		host, rest = addr[1:end], strings.TrimPrefix(addr[end+1:], ":")
	} else {
		host, rest, _ = strings.Cut(addr, ":")
	}
	parts := strings.Split(rest, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return s, fmt.Errorf("%s: %q does not have the form host:port:port[:type]", k, v)
	}
	s.Host = host
	if s.QuorumPort, err = strconv.Atoi(parts[0]); err != nil {
		return s, fmt.Errorf("%s: bad quorum port %q", k, parts[0])
	}
	if s.ElectionPort, err = strconv.Atoi(parts[1]); err != nil {
		return s, fmt.Errorf("%s: bad election port %q", k, parts[1])
	}
	if len(parts) == 3 {
		switch strings.ToLower(parts[2]) {
		case "observer":
			s.Observer = true
		case "participant":
		default:
			return s, fmt.Errorf("%s: unknown server type %q", k, parts[2])
		}
	}
	return s, nil
}

func (c *Config) loadDynamic(path string) error {
	if !filepath.IsAbs(path) && c.Path != "" {
		if _, err := os.Stat(path); err != nil {
			path = filepath.Join(filepath.Dir(c.Path), path)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("dynamic config: %w", err)
	}
	defer f.Close()
	kv, err := readProperties(f)
	if err != nil {
		return err
	}
	for _, p := range kv {
		if strings.HasPrefix(p[0], "server.") {
			s, err := parseServerLine(p[0], p[1])
			if err != nil {
				return err
			}
			c.Servers = append(c.Servers, s)
		}
	}
	return nil
}

func (c *Config) readMyID() error {
	b, err := os.ReadFile(filepath.Join(c.DataDir, "myid"))
	if err != nil {
		return fmt.Errorf("myid file is missing: %w", err)
	}
	id, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return fmt.Errorf("serverid %q is not a number", strings.TrimSpace(string(b)))
	}
	c.ServerID = id
	return nil
}

func (c *Config) validate() error {
	if c.DataDir == "" {
		return fmt.Errorf("dataDir is not set")
	}
	if c.TickTime <= 0 {
		return fmt.Errorf("tickTime is not set")
	}
	if c.ClientPort == 0 && c.ClientPortAddress != "" {
		return fmt.Errorf("clientPortAddress is set but clientPort is not set")
	}
	if c.MinSessionTimeout > c.MaxSessionTimeout && c.MaxSessionTimeout != -1 {
		return fmt.Errorf("minSessionTimeout must not be larger than maxSessionTimeout")
	}
	sort.Slice(c.Servers, func(i, j int) bool { return c.Servers[i].ID < c.Servers[j].ID })
	return nil
}

// Standalone reports whether the config asks for a single server.
func (c *Config) Standalone() bool {
	voters := 0
	for _, s := range c.Servers {
		if !s.Observer {
			voters++
		}
	}
	return len(c.Servers) == 0 || (voters <= 1 && c.StandaloneEnabled)
}

// MinTimeout is the negotiated floor in ms.
func (c *Config) MinTimeout() int {
	if c.MinSessionTimeout == -1 {
		return 2 * c.TickTime
	}
	return c.MinSessionTimeout
}

// MaxTimeout is the negotiated ceiling in ms.
func (c *Config) MaxTimeout() int {
	if c.MaxSessionTimeout == -1 {
		return 20 * c.TickTime
	}
	return c.MaxSessionTimeout
}

// ClientAddr is the listen address of the client port.
func (c *Config) ClientAddr() string {
	host := c.ClientPortAddress
	port := c.ClientPort
	if port == 0 {
		for _, s := range c.Servers {
			if s.ID == c.ServerID && s.ClientPort != 0 {
				port = s.ClientPort
				if s.ClientHost != "" {
					host = s.ClientHost
				}
			}
		}
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// Prop returns a system property.
func (c *Config) Prop(name string) (string, bool) {
	v, ok := c.Props[name]
	return strings.TrimSpace(v), ok
}

// PropBool reads a boolean property as Java's Boolean.getBoolean does:
// only "true" (any case) is true.
func (c *Config) PropBool(name string, def bool) bool {
	v, ok := c.Prop(name)
	if !ok {
		return def
	}
	switch strings.ToLower(v) {
	case "true", "yes":
		return true
	}
	return false
}

// PropInt reads an integer property.
func (c *Config) PropInt(name string, def int64) int64 {
	v, ok := c.Prop(name)
	if !ok {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		c.Warnings = append(c.Warnings, fmt.Sprintf("%s=%q is not a number; using %d", name, v, def))
		return def
	}
	return n
}

// MaxBuffer is jute.maxbuffer.
func (c *Config) MaxBuffer() int {
	n := c.PropInt("jute.maxbuffer", wire.DefaultMaxBuffer)
	if n <= 0 {
		return wire.DefaultMaxBuffer
	}
	return int(n)
}

// ParseJVMFlags extracts -Dname=value properties from a JVM flag string
// such as SERVER_JVMFLAGS; other flags are ignored.
func ParseJVMFlags(s string, into map[string]string) {
	for _, f := range strings.Fields(s) {
		if !strings.HasPrefix(f, "-D") {
			continue
		}
		k, v, _ := strings.Cut(f[2:], "=")
		if k != "" {
			into[k] = v
		}
	}
}

// CommitLogCount is zookeeper.commitLogCount, the committed proposals a
// leader keeps in memory for syncing learners; like ZKDatabase, values
// under the default 500 are raised to it.
func (c *Config) CommitLogCount() int {
	return int(max(c.PropInt("zookeeper.commitLogCount", 500), 500))
}

// SnapshotSizeFactor is zookeeper.snapshotSizeFactor (default 0.33): a
// leader syncs a learner from its txn log only when the logs to read are
// at most this times the newest snapshot's size (0: no limit, negative:
// never). Like ZKDatabase, a value above 1 or unparsable means 0.33.
func (c *Config) SnapshotSizeFactor() float64 {
	const def = 0.33
	v, ok := c.Prop("zookeeper.snapshotSizeFactor")
	if !ok {
		return def
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f > 1 {
		return def
	}
	return f
}
