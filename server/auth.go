package server

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"hash"
	"net"
	"strconv"
	"strings"

	"zkd/jute"
	"zkd/wire"
)

// Auth holds the authentication providers and the ACL policy: ZooKeeper's
// ProviderRegistry plus checkACL and fixupACL.
type Auth struct {
	SuperDigest string // "super:<base64 digest>", from superDigest
	DigestAlg   string // SHA1 (default), SHA-256, SHA3-256...
	SkipACL     bool
}

// Digest returns DigestAuthenticationProvider.generateDigest of
// "user:password": user + ":" + base64(hash("user:password")).
func (a *Auth) Digest(idPassword string) string {
	user, _, _ := strings.Cut(idPassword, ":")
	var h hash.Hash
	switch strings.ToUpper(a.DigestAlg) {
	case "SHA-256", "SHA256":
		h = sha256.New()
	case "SHA-512", "SHA512":
		h = sha512.New()
	default:
		h = sha1.New()
	}
	h.Write([]byte(idPassword))
	return user + ":" + base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// Authenticate handles an auth packet for scheme, returning the ids to
// add to the connection, or AUTHFAILED.
func (a *Auth) Authenticate(scheme string, data []byte, remoteIP string) ([]jute.Id, error) {
	switch scheme {
	case "digest":
		d := a.Digest(string(data))
		ids := []jute.Id{}
		if a.SuperDigest != "" && d == a.SuperDigest {
			ids = append(ids, jute.Id{Scheme: "super", ID: ""})
		}
		return append(ids, jute.Id{Scheme: "digest", ID: d}), nil
	case "ip":
		return []jute.Id{{Scheme: "ip", ID: remoteIP}}, nil
	}
	return nil, wire.ErrAuthFailed
}

// knownScheme reports whether a provider exists for scheme.
func knownScheme(scheme string) bool { return scheme == "digest" || scheme == "ip" }

// isAuthenticated tells whether ids of this scheme stand for an
// authenticated user (ServerAuthenticationProvider.isAuthenticated): ip
// addresses do not.
func isAuthenticated(scheme string) bool { return scheme == "digest" }

// validID is ServerAuthenticationProvider.isValid.
func validID(scheme, id string) bool {
	switch scheme {
	case "digest":
		// Java's split(":") drops trailing empty strings.
		parts := strings.Split(id, ":")
		for len(parts) > 0 && parts[len(parts)-1] == "" {
			parts = parts[:len(parts)-1]
		}
		return len(parts) == 2
	case "ip":
		_, _, ok := parseIPACL(id)
		return ok
	}
	return false
}

// parseIPACL reads "addr" or "addr/bits".
func parseIPACL(s string) (net.IP, int, bool) {
	addr, bitsStr, hasBits := strings.Cut(s, "/")
	ip := net.ParseIP(addr)
	if ip == nil {
		return nil, 0, false
	}
	if v4 := ip.To4(); v4 != nil && !strings.Contains(addr, ":") {
		ip = v4
	}
	bits := len(ip) * 8
	if hasBits {
		n, err := strconv.Atoi(bitsStr)
		if err != nil || n < 0 || n > len(ip)*8 {
			return nil, 0, false
		}
		bits = n
	}
	return ip, bits, true
}

// matches is ServerAuthenticationProvider.matches for a caller id and an
// ACL id of the same scheme.
func matches(scheme, id, aclExpr string) bool {
	switch scheme {
	case "digest":
		return id == aclExpr
	case "ip":
		aclIP, bits, ok := parseIPACL(aclExpr)
		if !ok {
			return false
		}
		ip := net.ParseIP(id)
		if ip == nil {
			return false
		}
		if v4 := ip.To4(); v4 != nil && len(aclIP) == 4 {
			ip = v4
		}
		if len(ip) != len(aclIP) {
			return false
		}
		mask := net.CIDRMask(bits, len(aclIP)*8)
		return ip.Mask(mask).Equal(aclIP.Mask(mask))
	}
	return false
}

// Check is ZooKeeperServer.checkACL: nil when ids hold perm on acl, else
// NOAUTH. An empty ACL allows everything; super is allowed everything.
func (a *Auth) Check(acl []jute.ACL, perm int32, ids []jute.Id) error {
	if a.SkipACL || len(acl) == 0 {
		return nil
	}
	for _, id := range ids {
		if id.Scheme == "super" {
			return nil
		}
	}
	for _, e := range acl {
		if e.Perms&perm == 0 {
			continue
		}
		if e.ID.Scheme == "world" && e.ID.ID == "anyone" {
			return nil
		}
		if !knownScheme(e.ID.Scheme) {
			continue
		}
		for _, id := range ids {
			if id.Scheme == e.ID.Scheme && matches(id.Scheme, id.ID, e.ID.ID) {
				return nil
			}
		}
	}
	return wire.ErrNoAuth
}

// CanRead tells whether ids may read a node with acl; notifications are
// only sent to those who may.
func (a *Auth) CanRead(acl []jute.ACL, ids []jute.Id) bool {
	return a.Check(acl, wire.PermRead, ids) == nil
}

// FixupACL is PrepRequestProcessor.fixupACL: duplicates dropped, "auth"
// expanded to the caller's authenticated ids, every id validated.
func (a *Auth) FixupACL(acls []jute.ACL, ids []jute.Id) ([]jute.ACL, error) {
	uniq := make([]jute.ACL, 0, len(acls))
	for _, x := range acls {
		dup := false
		for _, y := range uniq {
			if x == y {
				dup = true
				break
			}
		}
		if !dup {
			uniq = append(uniq, x)
		}
	}
	if len(uniq) == 0 {
		return nil, wire.ErrInvalidACL
	}
	out := make([]jute.ACL, 0, len(uniq))
	for _, e := range uniq {
		switch {
		case e.ID.Scheme == "world" && e.ID.ID == "anyone":
			out = append(out, e)
		case e.ID.Scheme == "auth":
			valid := false
			for _, id := range ids {
				if isAuthenticated(id.Scheme) {
					valid = true
					out = append(out, jute.ACL{Perms: e.Perms, ID: id})
				}
			}
			if !valid {
				return nil, wire.ErrInvalidACL
			}
		default:
			if !knownScheme(e.ID.Scheme) || !validID(e.ID.Scheme, e.ID.ID) {
				return nil, wire.ErrInvalidACL
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// ClientInfos is AuthUtil.getClientInfos for whoAmI: one entry per id,
// digest ids reduced to their user name.
func ClientInfos(ids []jute.Id) []jute.ClientInfo {
	out := make([]jute.ClientInfo, 0, len(ids))
	for _, id := range ids {
		user := id.ID
		if id.Scheme == "digest" {
			user, _, _ = strings.Cut(user, ":")
		}
		out = append(out, jute.ClientInfo{AuthScheme: id.Scheme, User: user})
	}
	return out
}
