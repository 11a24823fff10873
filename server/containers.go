package server

import (
	"time"

	"zkd/jute"
	"zkd/server/tree"
	"zkd/wire"
)

// containerManager settings (ZooKeeper's ContainerManager): every
// checkInterval, empty containers that once had children, empty containers
// never used for longer than maxNeverUsed (0: never), and TTL nodes
// without children whose TTL passed since their last change are deleted
// with deleteContainer txns, at most maxPerMinute a minute.
type containerManager struct {
	checkInterval time.Duration
	maxPerMinute  int
	maxNeverUsed  time.Duration
}

func newContainerManager(cfg *Config) containerManager {
	interval := time.Duration(cfg.PropInt("znode.container.checkIntervalMs", 60000)) * time.Millisecond
	if interval <= 0 {
		interval = time.Minute
	}
	return containerManager{
		checkInterval: interval,
		maxPerMinute:  int(cfg.PropInt("znode.container.maxPerMinute", 10000)),
		maxNeverUsed:  time.Duration(cfg.PropInt("znode.container.maxNeverUsedIntervalMs", 0)) * time.Millisecond,
	}
}

// candidates lists the containers and TTL nodes due for deletion. It runs
// on the processor goroutine, the tree's only writer, so it reads the tree
// without the lock.
func (m containerManager) candidates(t *tree.DataTree, now int64) []string {
	var out []string
	for _, p := range t.Containers() {
		n := t.Node(p)
		if n == nil || n.NumChildren() > 0 {
			continue
		}
		if n.Stat.Cversion > 0 || (m.maxNeverUsed > 0 && now-n.Stat.Mtime > m.maxNeverUsed.Milliseconds()) {
			out = append(out, p)
		}
	}
	for _, p := range t.TTLs() {
		n := t.Node(p)
		if n == nil || n.NumChildren() > 0 || t.OwnerType(n.Stat.EphemeralOwner) != tree.EphemeralTTL {
			continue
		}
		if ttl := t.OwnerTTL(n.Stat.EphemeralOwner); ttl != 0 && now-n.Stat.Mtime > ttl {
			out = append(out, p)
		}
	}
	return out
}

// checkContainers submits deleteContainer requests for the candidates.
func (p *processor) checkContainers() {
	s := p.srv
	m := p.containers
	limit := int(int64(m.maxPerMinute) * m.checkInterval.Milliseconds() / 60000)
	if limit < 1 {
		limit = 1
	}
	var batch []*Request
	for _, path := range m.candidates(s.tree, p.now()) {
		if _, pending := p.prep.byPath[path]; pending {
			continue // a txn on it is in flight; look again next time
		}
		if len(batch) == limit {
			break
		}
		s.log.Info().Str("path", path).Msg("deleting candidate container or expired TTL node")
		batch = append(batch, &Request{op: wire.OpDeleteContainer, body: &jute.DeleteTxn{Path: path}, inFlight: true, received: time.Now()})
	}
	p.dispatch(batch)
}
