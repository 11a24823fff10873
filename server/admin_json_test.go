package server

import (
	"encoding/json"
	"testing"
)

// The expected texts are ZooKeeper 3.8's AdminServer output (Jackson's
// default pretty printer), captured with curl.
func TestEncodeJSONLikeJackson(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"empty object", jsonObject{}, "{ }"},
		{"unknown command", jsonObject{{"command", "bogus"}, {"error", "Unknown command: bogus"}},
			"{\n  \"command\" : \"bogus\",\n  \"error\" : \"Unknown command: bogus\"\n}"},
		{"null and bool", jsonObject{{"read_only", false}, {"command", "is_read_only"}, {"error", nil}},
			"{\n  \"read_only\" : false,\n  \"command\" : \"is_read_only\",\n  \"error\" : null\n}"},
		{"empty containers", jsonObject{{"connections", []any{}}, {"current_config", jsonObject{}}},
			"{\n  \"connections\" : [ ],\n  \"current_config\" : { }\n}"},
		{"nested object", jsonObject{{"server_stats", jsonObject{{"packets_sent", int64(0)},
			{"client_response_stats", jsonObject{{"last_buffer_size", -1}}}}}},
			"{\n  \"server_stats\" : {\n    \"packets_sent\" : 0,\n    \"client_response_stats\" : {\n      \"last_buffer_size\" : -1\n    }\n  }\n}"},
		{"one-line arrays", jsonObject{{"/nope", []int64{72058250394730496, 72058250394730497}}, {"p", []string{"/e0", "/nope"}}},
			"{\n  \"/nope\" : [ 72058250394730496, 72058250394730497 ],\n  \"p\" : [ \"/e0\", \"/nope\" ]\n}"},
		{"objects in an array", jsonObject{{"connections", []any{jsonObject{{"a", 1}}, jsonObject{{"a", 2}}}}},
			"{\n  \"connections\" : [ {\n    \"a\" : 1\n  }, {\n    \"a\" : 2\n  } ]\n}"},
		{"doubles as Java prints them", jsonObject{{"avg_latency", 0.0}, {"x", 4.1667}},
			"{\n  \"avg_latency\" : 0.0,\n  \"x\" : 4.1667\n}"},
		{"escapes", "a\"b\\c\nd\te\x01é/", `"a\"b\\c\nd\te\u0001é/"`},
		{"invalid utf-8", "a\xffb", `"a\ufffdb"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := encodeJSON(tt.v)
			if got != tt.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tt.want)
			}
			if !json.Valid([]byte(got)) {
				t.Fatalf("not valid JSON: %s", got)
			}
		})
	}
}
