package main

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"time"

	"github.com/switchboard-rtc/switchboard/bench"
)

// benchCmd runs `switchboard bench [baseline] [flags]`.
func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "baseline" {
		return baselineCmd(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg bench.Config
	var asJSON bool
	fs.StringVar(&cfg.Target, "target", "http://127.0.0.1:8080", "`URL` of the server to load")
	fs.StringVar(&cfg.Protocol, "protocol", bench.ProtocolNative, "how peers connect: native, or whip (WHIP publishers, WHEP viewers: any such server)")
	fs.StringVar(&cfg.Shape, "shape", bench.ShapeFanout, "fanout (1 publisher to --subscribers) or rooms (--rooms of --participants, all publishing)")
	fs.IntVar(&cfg.Subscribers, "subscribers", 10, "subscribers of the fanout shape")
	fs.IntVar(&cfg.Rooms, "rooms", 10, "rooms of the rooms shape")
	fs.IntVar(&cfg.Participants, "participants", 4, "participants per room of the rooms shape")
	fs.IntVar(&cfg.Bitrate, "bitrate", 1_000_000, "video `bits` per second of each publisher (audio adds 32 kbit/s)")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long to measure once every peer is connected")
	fs.DurationVar(&cfg.ConnectTimeout, "connect-timeout", 30*time.Second, "how long peers may take to connect")
	fs.IntVar(&cfg.ServerPID, "server-pid", 0, "the server's process id: adds its CPU time and memory to the report")
	fs.BoolVar(&cfg.AllowRemote, "allow-remote", false, "allow a target that is not a loopback address")
	fs.StringVar(&cfg.Room, "room", "bench", "room name (a prefix with the rooms shape)")
	fs.StringVar(&cfg.WHIPPath, "whip-path", "/whip/{room}", "WHIP endpoint `path` on the target")
	fs.StringVar(&cfg.WHEPPath, "whep-path", "/whep/{room}", "WHEP endpoint `path` on the target")
	fs.BoolVar(&cfg.Simulcast, "simulcast", false, "native publishers send video as three simulcast layers (q, h, f), f at --bitrate")
	fs.BoolVar(&cfg.TWCC, "twcc", false, "receivers send transport-wide congestion control feedback, as browsers do")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON on stdout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rep, err := bench.Run(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(stdout, rep)
	}
	rep.WriteText(stdout)
	return nil
}

func baselineCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench baseline", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg bench.BaselineConfig
	var asJSON bool
	fs.IntVar(&cfg.Receivers, "receivers", 100, "receivers the relay sends each packet to")
	fs.IntVar(&cfg.Bitrate, "bitrate", 1_000_000, "video `bits` per second of the source (audio adds 32 kbit/s)")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long to relay")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON on stdout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rep, err := bench.Baseline(ctx, cfg)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(stdout, rep)
	}
	rep.WriteText(stdout)
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
