// Command switchboard runs the Switchboard conferencing server.
//
//	switchboard [serve] [flags]          run the server (the default)
//	switchboard token --room R --identity I [flags]
//	                                     mint a join token signed with an API key
//	switchboard bench [flags]            load a server with synthetic peers and report
//	switchboard bench baseline [flags]   measure the yardstick relay on this machine
//
// Every flag can also be set by an environment variable: --ice-loopback is
// SWITCHBOARD_ICE_LOOPBACK, and so on. A flag on the command line wins.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	ctx, stop := stopSignals()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "switchboard:", err)
		}
		os.Exit(2)
	}
}

// run dispatches to a subcommand; serve is the default.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, stdout, stderr)
	case "bench":
		return benchCmd(ctx, args, stdout, stderr)
	case "token":
		return tokenCmd(ctx, args, stdout, stderr)
	case "help":
		fmt.Fprintln(stdout, "usage: switchboard [serve] [flags] | switchboard token [flags] | switchboard bench [baseline] [flags]; add -h to list the flags")
		return nil
	}
	return fmt.Errorf("unknown command %q (try: switchboard help)", cmd)
}

// envName is the environment variable that sets a flag: --ice-loopback is
// SWITCHBOARD_ICE_LOOPBACK.
func envName(flagName string) string {
	return "SWITCHBOARD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseFlags sets fs from the environment, then from args.
func parseFlags(fs *flag.FlagSet, args []string) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if v, ok := os.LookupEnv(envName(f.Name)); ok && err == nil {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s=%q: %w", envName(f.Name), v, e)
			}
		}
		f.Usage += " [$" + envName(f.Name) + "]"
	})
	if err != nil {
		return err
	}
	return fs.Parse(args)
}
