package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	modzip "golang.org/x/mod/zip"
)

// proxy writes, under -out, a module proxy (the layout GOPROXY=file://
// reads) serving the root module and every published sub-module at
// -version, each made from the git revision -rev the way the go command
// makes it from a tag: go.mod as committed, the zip from `git archive`,
// the root's LICENSE in a sub-module that has none. The repository must be
// a git repository of its own (not a worktree). It prints each module's
// go.sum hash.
func (r *repo) proxy(args []string) error {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	rev := fs.String("rev", "HEAD", "the git revision to make the modules from")
	version := fs.String("version", "", "the version to serve them at")
	out := fs.String("out", "", "the folder to write the proxy to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || !isReleaseVersion(*version) {
		return errors.New("usage: modtool proxy [-rev REV] -version vX.Y.Z -out DIR")
	}
	root, err := filepath.Abs(r.root)
	if err != nil {
		return err
	}
	when, err := git(root, "show", "-s", "--format=%cI", *rev)
	if err != nil {
		return err
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(when))
	if err != nil {
		return err
	}
	for _, m := range r.published {
		if err := serve(root, *rev, m, *version, t.UTC(), *out); err != nil {
			return err
		}
	}
	return nil
}

// serve writes one module's .mod, .zip, .info and list files.
func serve(root, rev string, m *mod, version string, t time.Time, out string) error {
	gomod, err := git(root, "show", rev+":"+path.Join(m.dir, "go.mod"))
	if err != nil {
		return err
	}
	if p := modfile.ModulePath([]byte(gomod)); p != m.path() {
		return fmt.Errorf("%s/go.mod at %s says module %q, the working tree %q", m.dir, rev, p, m.path())
	}
	mv := module.Version{Path: m.path(), Version: version}
	escPath, err := module.EscapePath(mv.Path)
	if err != nil {
		return err
	}
	escVersion, err := module.EscapeVersion(version)
	if err != nil {
		return err
	}
	dir := filepath.Join(out, filepath.FromSlash(escPath), "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	base := filepath.Join(dir, escVersion)
	if err := writeZip(base+".zip", mv, root, rev, m.dir); err != nil {
		return err
	}
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{version, t})
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{base + ".mod": []byte(gomod), base + ".info": info, filepath.Join(dir, "list"): []byte(version + "\n")} {
		if err := os.WriteFile(name, data, 0o644); err != nil {
			return err
		}
	}
	sum, err := dirhash.HashZip(base+".zip", dirhash.Hash1)
	if err != nil {
		return err
	}
	fmt.Printf("%s %s %s\n", mv.Path, version, sum)
	return nil
}

func writeZip(name string, mv module.Version, root, rev, dir string) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	subdir := dir
	if dir == "." {
		subdir = ""
	}
	err = modzip.CreateFromVCS(f, mv, root, rev, subdir)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}
