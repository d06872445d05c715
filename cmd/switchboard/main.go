// Command switchboard runs the Switchboard conferencing server.
//
//	switchboard [serve] [flags]          run the server (the default)
//	switchboard token --room R --identity I [flags]
//	                                     mint a join token signed with an API key
//	switchboard bench [flags]            load a server with synthetic peers and report
//	switchboard bench baseline [flags]   measure the yardstick relay on this machine
//	switchboard version                  print what was built
//	switchboard help                     list the commands and serve's flags
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
	if err != nil && !errors.Is(err, flag.ErrHelp) { // -h: the help was asked for
		fmt.Fprintln(os.Stderr, "switchboard:", err)
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
	case "version":
		return versionCmd(stdout)
	case "help":
		// serve's -h prints the commands, then its flags.
		if err := serve(ctx, []string{"-h"}, stdout, stdout); !errors.Is(err, flag.ErrHelp) {
			return err
		}
		return nil
	}
	return fmt.Errorf("unknown command %q (try: switchboard help)", cmd)
}

// commands are the subcommands, each with its line of help.
var commands = []struct{ name, help string }{
	{"serve", "run the server (the default: flags alone mean serve); its flags are below"},
	{"token", "mint a join token signed with an API key (switchboard token -h)"},
	{"bench", "load a server with synthetic peers and report; bench baseline measures this machine (switchboard bench -h)"},
	{"version", "print the version, VCS revision and commit time, Go version and OS/architecture"},
	{"help", "print this help"},
}

// usage prints the commands, then the flags of serve, fs.
func usage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprintln(w, "Usage: switchboard [command] [flags]")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.help)
	}
	fmt.Fprintln(w, "\nFlags of serve (each also set by the environment variable in brackets):")
	fs.PrintDefaults()
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
