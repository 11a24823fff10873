package load

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is USER_HZ, the unit of utime and stime in /proc/<pid>/stat:
// 100 on every Linux architecture Go supports.
const clockTick = 100

// ProcSample is a process's resource use at one instant, from /proc.
type ProcSample struct {
	At  time.Time
	CPU time.Duration // user + system time of all threads
	RSS int64         // VmRSS, bytes
	HWM int64         // VmHWM (peak RSS), bytes
}

// SampleProc reads /proc/<pid>/stat and /proc/<pid>/status.
func SampleProc(pid int) (ProcSample, error) {
	s := ProcSample{At: time.Now()}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// The command name is in parentheses and may itself hold spaces or
	// parentheses: the fields that follow start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return s, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return s, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return s, fmt.Errorf("/proc/%d/stat: bad utime/stime", pid)
	}
	s.CPU = time.Duration(ut+st) * time.Second / clockTick
	st2, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	defer st2.Close()
	sc := bufio.NewScanner(st2)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "VmRSS:"):
			s.RSS = kb(line)
		case strings.HasPrefix(line, "VmHWM:"):
			s.HWM = kb(line)
		}
	}
	return s, sc.Err()
}

func kb(line string) int64 {
	f := strings.Fields(line)
	if len(f) < 2 {
		return 0
	}
	v, _ := strconv.ParseInt(f[1], 10, 64)
	return v << 10
}

// SelfCPU is the CPU time this process (the load generator) has used.
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// MachineCPU is the busy time of all CPUs together, from /proc/stat.
func MachineCPU() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		// idle (4th) and iowait (5th) are not busy; guest time is already
		// counted in user time.
		if i == 3 || i == 4 || i >= 8 {
			continue
		}
		busy += n
	}
	return time.Duration(busy) * time.Second / clockTick
}

// DiskWritten is the bytes written to all block devices, from
// /proc/diskstats (whole disks only: partitions would count twice).
func DiskWritten() int64 {
	b, err := os.ReadFile("/proc/diskstats")
	if err != nil {
		return 0
	}
	var total int64
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 10 || strings.HasPrefix(f[2], "loop") || strings.HasPrefix(f[2], "ram") || strings.HasPrefix(f[2], "zram") {
			continue
		}
		// Whole disks are listed in /sys/block; partitions are not.
		if _, err := os.Stat("/sys/block/" + f[2]); err != nil {
			continue
		}
		sectors, _ := strconv.ParseInt(f[9], 10, 64)
		total += sectors * 512
	}
	return total
}

// procWritten is what a process caused to be written to storage, from
// /proc/<pid>/io.
func procWritten(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "write_bytes:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// CPUMeter measures the CPU used by the server, by the client and by
// everything else on the machine over a window, as a fraction of one core
// (1.0 = one core busy all the time), and what the other processes wrote
// to disk. The last two tell whether a neighbour competed with the
// benchmark: for the cores, or for the disk every fsync waits on.
type CPUMeter struct {
	pids             []int
	t0               time.Time
	srv0, cli0, all0 time.Duration
	disk0, own0      int64
	ok               bool
	other            float64
	otherWrite       float64
}

// StartCPU starts a measurement; pid 0 measures only the client.
func StartCPU(pid int) *CPUMeter {
	if pid <= 0 {
		return StartCPUs()
	}
	return StartCPUs(pid)
}

// StartCPUs starts a measurement of a server made of several processes
// (an ensemble's members): their CPU and RSS are summed. No pids measures
// only the client.
func StartCPUs(pids ...int) *CPUMeter {
	m := &CPUMeter{pids: pids, t0: time.Now(), cli0: SelfCPU(), all0: MachineCPU(),
		disk0: DiskWritten(), own0: procWritten(os.Getpid())}
	for _, pid := range pids {
		m.own0 += procWritten(pid)
	}
	if len(pids) > 0 {
		m.ok = true
		for _, pid := range pids {
			s, err := SampleProc(pid)
			if err != nil {
				m.ok = false
				break
			}
			m.srv0 += s.CPU
		}
	}
	return m
}

// Stop returns the server's and the client's CPU use in cores, and the
// server's memory at the end (zero values when pid is unknown).
func (m *CPUMeter) Stop() (server, client float64, rss int64) {
	el := time.Since(m.t0).Seconds()
	if el <= 0 {
		return 0, 0, 0
	}
	client = (SelfCPU() - m.cli0).Seconds() / el
	all := (MachineCPU() - m.all0).Seconds() / el
	if m.ok {
		var cpu time.Duration
		ok := true
		for _, pid := range m.pids {
			s, err := SampleProc(pid)
			if err != nil {
				ok = false
				break
			}
			cpu += s.CPU
			rss += s.RSS
		}
		if ok {
			server = (cpu - m.srv0).Seconds() / el
		} else {
			rss = 0
		}
	}
	m.other = max(0, all-server-client)
	own := procWritten(os.Getpid())
	for _, pid := range m.pids {
		own += procWritten(pid)
	}
	m.otherWrite = max(0, float64(DiskWritten()-m.disk0-(own-m.own0))/el/(1<<20))
	return server, client, rss
}

// OtherWriteMiBps is what processes other than the server and the client
// wrote to disk per second during the window, valid after Stop.
func (m *CPUMeter) OtherWriteMiBps() float64 { return m.otherWrite }

// Other is the CPU used by neither the server nor the client during the
// window, valid after Stop.
func (m *CPUMeter) Other() float64 { return m.other }
