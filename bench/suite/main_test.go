package main

import (
	"strings"
	"testing"

	"zkd/bench/load"
	"zkd/bench/report"
)

func TestParamsForTakesTheRateFromZooKeepersBaseThroughput(t *testing.T) {
	s := &suite{
		kinds:        []kind{zkdKind("/bin/true"), zooKeeperKind("1g")},
		params:       load.Defaults(),
		rateFraction: 0.5,
		rates:        map[string]float64{},
		rateNotes:    map[string]string{},
		run: &report.Run{Results: map[string][]*load.Result{
			"zkd":       {{Workload: "read", OpsPerSec: 300000}},
			"zookeeper": {{Workload: "read", OpsPerSec: 37123}},
		}},
	}
	w, _ := load.Lookup("read-rate")
	p, err := s.paramsFor(w)
	if err != nil || p.Rate != 18560 {
		t.Fatalf("rate %v, %v; want 18560 (half of ZooKeeper's, 4 digits)", p.Rate, err)
	}
	if !strings.Contains(s.rateNotes["read-rate"], "50% of ZooKeeper's closed-loop read throughput") {
		t.Errorf("note %q", s.rateNotes["read-rate"])
	}
	// The same rate for the second server, whatever the results since.
	s.run.Results["zookeeper"][0].OpsPerSec = 1
	if p, _ := s.paramsFor(w); p.Rate != 18560 {
		t.Errorf("second call: rate %v", p.Rate)
	}
	w2, _ := load.Lookup("write-rate")
	if _, err := s.paramsFor(w2); err == nil || !strings.Contains(err.Error(), "-rates write-rate=N") {
		t.Errorf("no base result: %v", err)
	}
	if p, err := s.paramsFor(load.Workload{Name: "read"}); err != nil || p.Rate != 0 {
		t.Errorf("closed loop: rate %v, %v", p.Rate, err)
	}
}
