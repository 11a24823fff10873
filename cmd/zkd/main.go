// Command zkd is a ZooKeeper-compatible coordination server.
//
//	zkd [start-foreground] [-Dname=value ...] [zoo.cfg]
//
// Without a config file it serves standalone on 127.0.0.1:2181 with data
// under ./data.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	_ "net/http/pprof" // served only when ZKD_PPROF names an address
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"zkd/server"
)

func main() {
	args := os.Args[1:]
	if len(args) > 0 {
		if tool, ok := subcommand(args[0]); ok {
			os.Exit(tool(args[1:], os.Stdout, os.Stderr))
		}
	}
	os.Exit(run(args, os.Stderr))
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: zkd [start-foreground] [-Dname=value ...] [zoo.cfg]
       zkd snapshot-dump <snapshot file> [--json]
       zkd log-dump <txn log file>
       zkd verify <dataDir> [dataLogDir]
       zkd purge <dataDir> [dataLogDir] -n <count>

Starts a ZooKeeper-compatible server. Without zoo.cfg it serves standalone
on 127.0.0.1:2181 with data under ./data. -D flags and SERVER_JVMFLAGS set
the ZooKeeper system properties zkd supports (jute.maxbuffer,
zookeeper.extendedTypesEnabled, ...). The other commands inspect and
maintain ZooKeeper data directories.
`)
}

func run(args []string, stderr io.Writer) int {
	props := map[string]string{}
	server.ParseJVMFlags(os.Getenv("SERVER_JVMFLAGS"), props)
	server.ParseJVMFlags(os.Getenv("JVMFLAGS"), props)
	var cfgPath string
	for _, a := range args {
		switch {
		case a == "start-foreground" || a == "start":
		case a == "-h" || a == "--help" || a == "help":
			usage(stderr)
			return 0
		case strings.HasPrefix(a, "-D"):
			server.ParseJVMFlags(a, props)
		case strings.HasPrefix(a, "-"):
			fmt.Fprintf(stderr, "zkd: unknown flag %s\n", a)
			usage(stderr)
			return 2
		default:
			if cfgPath != "" {
				fmt.Fprintf(stderr, "zkd: more than one config file given\n")
				return 2
			}
			cfgPath = a
		}
	}
	log := newLogger(stderr, props)
	var cfg *server.Config
	if cfgPath == "" {
		cfg = server.DefaultConfig()
		for k, v := range props {
			cfg.Props[k] = v
		}
		log.Info().Msg("no config file given: standalone on 127.0.0.1:2181, data under ./data")
	} else {
		var err error
		cfg, err = server.LoadConfig(cfgPath, props)
		if err != nil {
			log.Error().Err(err).Str("config", cfgPath).Msg("invalid configuration")
			return 2
		}
	}
	if addr := os.Getenv("ZKD_PPROF"); addr != "" {
		// Profiling on demand (go tool pprof http://addr/debug/pprof/profile);
		// off by default so nothing listens that the config did not ask for.
		go func() {
			log.Info().Str("addr", addr).Msg("pprof listening")
			if err := http.ListenAndServe(addr, nil); err != nil {
				log.Warn().Err(err).Str("addr", addr).Msg("pprof listener stopped")
			}
		}()
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	go tuneGC(ctx, log)
	if err := server.Start(ctx, cfg, log); err != nil {
		log.Error().Err(err).Msg("server stopped")
		return 1
	}
	return 0
}

func newLogger(w io.Writer, props map[string]string) zerolog.Logger {
	zerolog.TimeFieldFormat = time.RFC3339Nano
	level := zerolog.InfoLevel
	if v := props["zookeeper.log.level"]; v != "" {
		if l, err := zerolog.ParseLevel(strings.ToLower(v)); err == nil {
			level = l
		}
	}
	if v := os.Getenv("ZKD_LOG_LEVEL"); v != "" {
		if l, err := zerolog.ParseLevel(strings.ToLower(v)); err == nil {
			level = l
		}
	}
	if os.Getenv("ZKD_LOG_FORMAT") == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}
