// Command modtool does the module bookkeeping of a zohoauth release: which
// version the sub-modules require of the root and of the published
// modules, setting that version, checking that the published modules agree
// on their go line and dependencies, building a file module proxy from a git
// commit, and removing a module's in-repository replaces.
//
// It runs from the repository's root folder (or -C DIR). The published
// sub-modules are the folders listed in .ci/published.
//
//	modtool version             prints the one version the sub-modules require
//	modtool bump VERSION        sets that requirement to VERSION everywhere
//	modtool check               the published modules agree with the root
//	modtool tags VERSION        prints the release's tags: VERSION, DIR/VERSION...
//	modtool proxy -rev REV -version VERSION -out DIR
//	modtool dropreplace DIR     removes DIR/go.mod's replaces of local folders
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "modtool:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("modtool", flag.ContinueOnError)
	dir := fs.String("C", ".", "the repository's root folder")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("usage: modtool [-C DIR] version | bump VERSION | check | tags VERSION | proxy ... | dropreplace DIR")
	}
	cmd, rest := fs.Arg(0), fs.Args()[1:]
	if cmd == "dropreplace" {
		if len(rest) != 1 {
			return errors.New("usage: modtool dropreplace DIR")
		}
		return dropReplace(rest[0])
	}
	r, err := loadRepo(*dir)
	if err != nil {
		return err
	}
	switch cmd {
	case "version":
		v, err := r.requiredVersion()
		if err == nil {
			fmt.Println(v)
		}
		return err
	case "bump":
		if len(rest) != 1 {
			return errors.New("usage: modtool bump VERSION")
		}
		return r.bump(rest[0])
	case "check":
		return r.check()
	case "tags":
		if len(rest) != 1 || !isReleaseVersion(rest[0]) {
			return errors.New("usage: modtool tags vX.Y.Z")
		}
		for _, m := range r.published {
			fmt.Println(path.Join(m.dir, rest[0]))
		}
		return nil
	case "proxy":
		return r.proxy(rest)
	}
	return fmt.Errorf("unknown command %q", cmd)
}
