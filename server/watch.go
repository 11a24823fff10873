package server

import (
	"sync"

	"zkd/jute"
	"zkd/server/tree"
	"zkd/wire"
)

// Watch modes, combinable as WatchStats does.
const (
	modeStandard  uint8 = 1
	modePersist   uint8 = 2
	modeRecursive uint8 = 4
)

// WatchManager maps paths to watching connections for one kind of watch
// (data or child), as ZooKeeper's WatchManager.
type WatchManager struct {
	mu        sync.Mutex
	table     map[string]map[*Conn]uint8
	byConn    map[*Conn]map[string]uint8
	recursive int
}

func newWatchManager() *WatchManager {
	return &WatchManager{
		table:  make(map[string]map[*Conn]uint8),
		byConn: make(map[*Conn]map[string]uint8),
	}
}

// Add registers c on path with mode.
func (m *WatchManager) Add(path string, c *Conn, mode uint8) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ws := m.table[path]
	if ws == nil {
		ws = make(map[*Conn]uint8)
		m.table[path] = ws
	}
	old := ws[c]
	if mode == modeRecursive && old&modeRecursive == 0 {
		m.recursive++
	}
	ws[c] = old | mode
	ps := m.byConn[c]
	if ps == nil {
		ps = make(map[string]uint8)
		m.byConn[c] = ps
	}
	ps[path] = old | mode
}

// trigger collects the watchers of path (and, when recursive watches
// exist, those on its ancestors with recursive mode) and drops one-shot
// registrations, as WatchManager.triggerWatch.
func (m *WatchManager) trigger(path string, into map[*Conn]struct{}) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := path
	atParent := false
	for {
		if ws := m.table[p]; ws != nil {
			for c, mode := range ws {
				if !atParent {
					into[c] = struct{}{}
					if mode&modeStandard != 0 {
						nm := mode &^ modeStandard
						if nm == 0 {
							delete(ws, c)
							m.dropConnPath(c, p)
						} else {
							ws[c] = nm
							m.byConn[c][p] = nm
						}
					}
				} else if mode&modeRecursive != 0 {
					into[c] = struct{}{}
				}
			}
			if len(ws) == 0 {
				delete(m.table, p)
			}
		}
		if m.recursive == 0 || p == "/" {
			return
		}
		p = tree.Parent(p)
		atParent = true
	}
}

func (m *WatchManager) dropConnPath(c *Conn, p string) {
	if ps := m.byConn[c]; ps != nil {
		delete(ps, p)
		if len(ps) == 0 {
			delete(m.byConn, c)
		}
	}
}

// RemoveConn drops every watch of c.
func (m *WatchManager) RemoveConn(c *Conn) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for p, mode := range m.byConn[c] {
		if mode&modeRecursive != 0 {
			m.recursive--
		}
		if ws := m.table[p]; ws != nil {
			delete(ws, c)
			if len(ws) == 0 {
				delete(m.table, p)
			}
		}
	}
	delete(m.byConn, c)
}

// Has reports whether c watches path with any of the mode bits.
func (m *WatchManager) Has(path string, c *Conn, mode uint8) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.table[path][c]&mode != 0
}

// Remove clears the mode bits of c's watch on path and reports whether
// any were set.
func (m *WatchManager) Remove(path string, c *Conn, mode uint8) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	ws := m.table[path]
	old, ok := ws[c]
	if !ok || old&mode == 0 {
		return false
	}
	nm := old &^ mode
	if old&modeRecursive != 0 && nm&modeRecursive == 0 {
		m.recursive--
	}
	if nm == 0 {
		delete(ws, c)
		if len(ws) == 0 {
			delete(m.table, path)
		}
		m.dropConnPath(c, path)
	} else {
		ws[c] = nm
		m.byConn[c][path] = nm
	}
	return true
}

// Stats returns the number of watched paths and of watches.
func (m *WatchManager) Stats() (paths, watches int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ws := range m.table {
		watches += len(ws)
	}
	return len(m.table), watches
}

// ByPath returns, per path, the session ids watching it.
func (m *WatchManager) ByPath() map[string][]int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string][]int64, len(m.table))
	for p, ws := range m.table {
		for c := range ws {
			out[p] = append(out[p], c.SessionID())
		}
	}
	return out
}

// ByConn returns, per connection, the paths it watches.
func (m *WatchManager) ByConn() map[*Conn][]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[*Conn][]string, len(m.byConn))
	for c, ps := range m.byConn {
		for p := range ps {
			out[c] = append(out[c], p)
		}
	}
	return out
}

// Watches is the server's pair of watch managers; it receives the tree's
// change events and notifies connections.
type Watches struct {
	Data  *WatchManager
	Child *WatchManager
	acls  func([]jute.ACL, []jute.Id) bool
}

func newWatches(canRead func([]jute.ACL, []jute.Id) bool) *Watches {
	return &Watches{Data: newWatchManager(), Child: newWatchManager(), acls: canRead}
}

// Trigger implements tree.Watcher with DataTree's mapping of changes to
// watch kinds: created and data changes fire data watches, children
// changes fire child watches, and a delete fires both at most once per
// connection.
func (w *Watches) Trigger(ev tree.Event) {
	fired := make(map[*Conn]struct{})
	switch ev.Type {
	case wire.EventNodeCreated, wire.EventNodeDataChanged:
		w.Data.trigger(ev.Path, fired)
	case wire.EventNodeChildrenChanged:
		w.Child.trigger(ev.Path, fired)
	case wire.EventNodeDeleted:
		w.Data.trigger(ev.Path, fired)
		w.Child.trigger(ev.Path, fired)
	}
	for c := range fired {
		if w.acls != nil && !w.acls(ev.ACL, c.AuthIDs()) {
			continue
		}
		c.notify(ev.Type, ev.Path)
	}
}

// RemoveConn drops every watch of c.
func (w *Watches) RemoveConn(c *Conn) {
	w.Data.RemoveConn(c)
	w.Child.RemoveConn(c)
}
