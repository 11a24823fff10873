// Package report turns a benchmark run (zkd and Apache ZooKeeper under the
// same load) into the JSON raw data, a Markdown report with one table per
// workload and one SVG chart per workload.
package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"zkd/bench/load"
)

// Run is one invocation of the suite: every workload against every server.
type Run struct {
	Date     string    `json:"date"`
	Quick    bool      `json:"quick"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Machine  Machine   `json:"machine"`
	Settings Settings  `json:"settings"`
	// Servers lists the servers in the order they ran, by key: "zkd",
	// "zookeeper".
	Servers []Server `json:"servers"`
	// Workloads lists the workloads in the order they ran.
	Workloads []WorkloadInfo `json:"workloads"`
	// Results maps a server key to its results, one per workload.
	Results map[string][]*load.Result `json:"results"`
	Notes   []string                  `json:"notes,omitempty"`
}

// Server is one implementation under test.
type Server struct {
	Key     string `json:"key"`
	Label   string `json:"label"`
	Version string `json:"version"`
	Command string `json:"command"`
}

// WorkloadInfo names and describes a workload.
type WorkloadInfo struct {
	Name string `json:"name"`
	Desc string `json:"desc"`
}

// Machine is where the run happened.
type Machine struct {
	CPUs      int     `json:"cpus"`
	CPUModel  string  `json:"cpu_model"`
	MemGiB    float64 `json:"mem_gib"`
	Kernel    string  `json:"kernel"`
	Disk      string  `json:"disk"` // device and filesystem of the data dirs
	GoVersion string  `json:"go_version"`
}

// Settings are what both servers shared.
type Settings struct {
	ZooCfg    []string    `json:"zoo_cfg"`
	ZKHeap    string      `json:"zookeeper_heap"`
	Params    load.Params `json:"params"`
	TreeNodes int         `json:"tree_nodes"`
	WorkDir   string      `json:"work_dir"`
	// RateFraction is the open-loop workloads' offered load as a share of
	// the reference server's closed-loop throughput (0: none ran, or their
	// rates were fixed).
	RateFraction float64 `json:"rate_fraction,omitempty"`
	// Ensemble describes the ensemble workloads' setup ("" if none ran).
	Ensemble string `json:"ensemble,omitempty"`
}

// Result finds a server's result for a workload.
func (r *Run) Result(server, workload string) *load.Result {
	for _, res := range r.Results[server] {
		if res.Workload == workload {
			return res
		}
	}
	return nil
}

// WriteJSON writes the run to path.
func (r *Run) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ReadJSON reads a run written by WriteJSON.
func ReadJSON(path string) (*Run, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Run
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}
