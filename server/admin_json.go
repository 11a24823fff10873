package server

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// jsonObject is a JSON object whose keys keep their order, as the
// LinkedHashMaps behind ZooKeeper's command responses do.
type jsonObject []jsonField

type jsonField struct {
	k string
	v any
}

func (o *jsonObject) put(k string, v any) { *o = append(*o, jsonField{k, v}) }

// encodeJSON writes v as ZooKeeper's AdminServer does: Jackson's default
// pretty printer ("key" : value, two-space indents, arrays on one line,
// "[ ]" and "{ }" when empty) and Java's number formats. v is a
// jsonObject, []any, []int64, []string, string, bool, an integer, a
// float64 or nil.
func encodeJSON(v any) string {
	var b strings.Builder
	writeJSON(&b, v, 0)
	return b.String()
}

func writeJSON(b *strings.Builder, v any, level int) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case jsonObject:
		if len(x) == 0 {
			b.WriteString("{ }")
			return
		}
		b.WriteString("{")
		for i, f := range x {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("\n")
			b.WriteString(strings.Repeat("  ", level+1))
			writeJSONString(b, f.k)
			b.WriteString(" : ")
			writeJSON(b, f.v, level+1)
		}
		b.WriteString("\n" + strings.Repeat("  ", level) + "}")
	case []any:
		writeJSONArray(b, len(x), func(i int) { writeJSON(b, x[i], level) })
	case []int64:
		writeJSONArray(b, len(x), func(i int) { b.WriteString(strconv.FormatInt(x[i], 10)) })
	case []string:
		writeJSONArray(b, len(x), func(i int) { writeJSONString(b, x[i]) })
	case string:
		writeJSONString(b, x)
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int:
		b.WriteString(strconv.Itoa(x))
	case int32:
		b.WriteString(strconv.FormatInt(int64(x), 10))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		b.WriteString(javaDouble(x))
	default:
		panic(fmt.Sprintf("encodeJSON: unsupported %T", v))
	}
}

// writeJSONArray writes Jackson's one-line arrays: "[ a, b ]", "[ ]".
func writeJSONArray(b *strings.Builder, n int, elem func(int)) {
	if n == 0 {
		b.WriteString("[ ]")
		return
	}
	b.WriteString("[ ")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		elem(i)
	}
	b.WriteString(" ]")
}

// writeJSONString escapes as Jackson does: quotes, backslashes and
// control characters; everything else as is.
func writeJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				b.WriteString(`\ufffd`)
			} else {
				b.WriteString(s[i : i+n])
			}
			i += n
			continue
		}
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if c < 0x20 {
				fmt.Fprintf(b, `\u%04X`, c)
			} else {
				b.WriteByte(c)
			}
		}
		i++
	}
	b.WriteByte('"')
}
