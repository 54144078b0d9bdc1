package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/modfile"
)

// check reports every way in which the published modules disagree with the
// root module or would break for a user: another go line, another version
// of a shared dependency, or a replace that users would not get.
func (r *repo) check() error {
	var problems []string
	rootMod := r.published[0]
	goLine := goVersion(rootMod.file)
	held := map[string]string{} // dependency path: "version (folder)" first seen
	for _, m := range r.published {
		if g := goVersion(m.file); g != goLine {
			problems = append(problems, fmt.Sprintf("%s: go %s; the root module says go %s", m.name(), g, goLine))
		}
		for _, req := range m.file.Require {
			if r.isPub[req.Mod.Path] {
				continue
			}
			first, ok := held[req.Mod.Path]
			here := req.Mod.Version + " (" + m.name() + ")"
			if !ok {
				held[req.Mod.Path] = here
			} else if !strings.HasPrefix(first, req.Mod.Version+" ") {
				problems = append(problems, fmt.Sprintf("%s: %s here, %s", req.Mod.Path, here, first))
			}
		}
		problems = append(problems, r.replaceProblems(m)...)
	}
	if len(problems) > 0 {
		return errors.New("the published modules disagree:\n\t" + strings.Join(problems, "\n\t"))
	}
	fmt.Printf("modtool: %d published modules, all go %s, each of their %d dependencies at one version\n", len(r.published), goLine, len(held))
	return nil
}

func goVersion(f *modfile.File) string {
	if f.Go == nil {
		return "(none)"
	}
	return f.Go.Version
}

// replaceProblems: users ignore a module's replace directives, so a
// published module may only replace the repository's own modules by their
// folders, for work inside the repository; the root module, which users
// also install with `go install ...@version`, may not replace anything.
func (r *repo) replaceProblems(m *mod) []string {
	var out []string
	for _, rep := range m.file.Replace {
		switch {
		case m.dir == ".":
			out = append(out, fmt.Sprintf("go.mod: replaces %s; `go install` of the command refuses a module with a replace", rep.Old.Path))
		case rep.New.Version != "" || !r.isPub[rep.Old.Path]:
			out = append(out, fmt.Sprintf("%s/go.mod: replaces %s with %s; users do not get this replace", m.dir, rep.Old.Path, rep.New.Path))
		}
	}
	return out
}

// dropReplace removes from dir/go.mod every replace by a local folder, as a
// user's build ignores them, and refuses any other replace.
func dropReplace(dir string) error {
	name := filepath.Join(dir, "go.mod")
	data, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	f, err := modfile.Parse(name, data, nil)
	if err != nil {
		return err
	}
	for _, rep := range append([]*modfile.Replace(nil), f.Replace...) {
		if rep.New.Version != "" {
			return fmt.Errorf("%s: replaces %s with the module %s, which users would not get", name, rep.Old.Path, rep.New.Path)
		}
		fmt.Printf("%s: dropped replace %s => %s\n", name, rep.Old.Path, rep.New.Path)
		if err := f.DropReplace(rep.Old.Path, rep.Old.Version); err != nil {
			return err
		}
	}
	f.Cleanup()
	out, err := f.Format()
	if err != nil {
		return err
	}
	return os.WriteFile(name, out, 0o644)
}
