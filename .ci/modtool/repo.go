package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"
)

// A mod is one go.mod of the repository.
type mod struct {
	dir  string // slash-separated, relative to the repository root; "." for the root
	file *modfile.File
}

func (m *mod) path() string { return m.file.Module.Mod.Path }

// name is how messages call the module: its folder, or "the root module".
func (m *mod) name() string {
	if m.dir == "." {
		return "the root module"
	}
	return m.dir
}

// A repo is the repository's modules: the root first, then every
// sub-module, sorted by folder.
type repo struct {
	root      string
	mods      []*mod
	published []*mod          // the root, then the folders listed in .ci/published
	isPub     map[string]bool // module paths of published
	byDir     map[string]*mod // every module by folder
}

func loadRepo(root string) (*repo, error) {
	r := &repo{root: root, isPub: map[string]bool{}, byDir: map[string]*mod{}}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && skipDir(d.Name()) {
			return filepath.SkipDir
		}
		if d.IsDir() || d.Name() != "go.mod" {
			return nil
		}
		rel, err := filepath.Rel(root, filepath.Dir(p))
		if err != nil {
			return err
		}
		m, err := readMod(root, filepath.ToSlash(rel))
		if err == nil {
			r.mods = append(r.mods, m)
			r.byDir[m.dir] = m
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if r.byDir["."] == nil {
		return nil, fmt.Errorf("%s: no go.mod: run from the repository's root folder or give -C", root)
	}
	sort.Slice(r.mods, func(i, j int) bool { return less(r.mods[i].dir, r.mods[j].dir) })
	return r, r.loadPublished()
}

// skipDir tells which folders hold no module of the repository: version
// control, hidden folders (.ci's own tools), test data and vendored code.
func skipDir(name string) bool {
	return strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor"
}

// less puts the root first, then folders in order.
func less(a, b string) bool {
	if a == "." || b == "." {
		return a == "." && b != "."
	}
	return a < b
}

func readMod(root, dir string) (*mod, error) {
	name := filepath.Join(root, filepath.FromSlash(dir), "go.mod")
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	f, err := modfile.Parse(name, data, nil)
	if err != nil {
		return nil, err
	}
	if f.Module == nil {
		return nil, fmt.Errorf("%s: no module line", name)
	}
	return &mod{dir: dir, file: f}, nil
}

// loadPublished reads .ci/published and checks that each folder listed is a
// sub-module whose path is the root's path plus the folder, so that the tag
// <folder>/vX.Y.Z names it.
func (r *repo) loadPublished() error {
	rootMod := r.byDir["."]
	r.published = []*mod{rootMod}
	r.isPub[rootMod.path()] = true
	name := filepath.Join(r.root, ".ci", "published")
	data, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		dir := strings.TrimSpace(sc.Text())
		if dir == "" || strings.HasPrefix(dir, "#") {
			continue
		}
		m := r.byDir[dir]
		if m == nil {
			return fmt.Errorf("%s lists %q, which holds no go.mod", name, dir)
		}
		if want := path.Join(rootMod.path(), dir); m.path() != want {
			return fmt.Errorf("%s/go.mod: module %s; a module published from folder %s must be %s, or the tag %s/vX.Y.Z does not name it", dir, m.path(), dir, want, dir)
		}
		r.published = append(r.published, m)
		r.isPub[m.path()] = true
	}
	return sc.Err()
}

// requiredVersion returns the one version at which the sub-modules require
// the root and the published modules.
func (r *repo) requiredVersion() (string, error) {
	seen := map[string][]string{}
	for _, m := range r.mods[1:] {
		for _, req := range m.file.Require {
			if r.isPub[req.Mod.Path] {
				v := req.Mod.Version
				seen[v] = append(seen[v], fmt.Sprintf("%s/go.mod requires %s %s", m.dir, req.Mod.Path, v))
			}
		}
	}
	switch len(seen) {
	case 0:
		return "", errors.New("no sub-module requires the root module or a published module")
	case 1:
		for v := range seen {
			return v, nil
		}
	}
	var lines []string
	for _, l := range seen {
		lines = append(lines, l...)
	}
	sort.Strings(lines)
	return "", fmt.Errorf("the sub-modules require the published modules at different versions; set one with `modtool bump VERSION`:\n\t%s", strings.Join(lines, "\n\t"))
}

// bump sets every requirement on the root or a published module to version.
func (r *repo) bump(version string) error {
	if !isReleaseVersion(version) {
		return fmt.Errorf("%q is not a release version such as v0.1.0 or v1.2.0-rc.1", version)
	}
	for _, m := range r.mods[1:] {
		changed := false
		for _, req := range m.file.Require {
			if r.isPub[req.Mod.Path] && req.Mod.Version != version {
				if err := m.file.AddRequire(req.Mod.Path, version); err != nil {
					return err
				}
				changed = true
			}
		}
		if changed {
			if err := r.write(m); err != nil {
				return err
			}
			fmt.Printf("%s/go.mod: requires the published modules at %s\n", m.dir, version)
		}
	}
	return nil
}

// isReleaseVersion accepts vMAJOR.MINOR.PATCH with an optional pre-release,
// below v2 (v2 and up need a /v2 module path first).
func isReleaseVersion(v string) bool {
	return semver.IsValid(v) && semver.Canonical(v) == v && semver.Build(v) == "" &&
		(semver.Major(v) == "v0" || semver.Major(v) == "v1")
}

func (r *repo) write(m *mod) error {
	m.file.Cleanup()
	data, err := m.file.Format()
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(r.root, filepath.FromSlash(m.dir), "go.mod"), data, 0o644)
}
