package zohoauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gofrs/flock"
)

// FileStore keeps one Zoho account's token in a JSON file, so that a
// restarted service, a cron job and every other process on the host that
// uses the same path share one token and one refresh. Use one file per Zoho
// account.
//
// The file holds every Token field, the accounts server included, and is
// written with mode 0600; folders that Save creates get mode 0700. Load
// refuses a file that other users (group or others) may read or write.
// Load, Save and Lock refuse at once, with an error naming the path, a
// folder, FIFO, socket or device at the token or lock path: none is opened
// in a way that could wait (a FIFO would wait for a writer forever).
//
// The token file, the lock file and their folder must belong to the user
// the process runs as: a file another user owns, or one in a folder another
// user owns, is theirs to read or replace, and a root cron job must not pick
// up another user's token by mistake. A folder may also belong to root, who
// can replace any file anyway. Load, Save and Lock refuse anything else,
// saying what to do, unless AllowFileOwner names the owner. Ownership is
// checked on Unix only.
//
// Save replaces the file atomically (temporary file in the same folder,
// fsync, rename, fsync of the folder), so a crash leaves either the old token
// or the new one, never a torn file. A crash mid-save can leave a
// ".<name>.<digits>.tmp" file beside it, holding a token; a later Save removes
// such files once they are an hour old. A damaged file is
// reported, never silently replaced. Save replaces a symbolic link at the
// path by a regular file.
//
// FileStore is a Locker: Lock takes an exclusive flock(2)-style lock on
// "<path>.lock" beside the token file, which excludes other processes and
// other Locks in this process. The operating system drops the lock when its
// holder dies, so the lease is not needed. The lock file is left in place.
// The lock coordinates processes on one host; do not rely on it across
// hosts sharing a network file system.
//
// Create a FileStore with NewFileStore. It is safe for concurrent use.
type FileStore struct {
	path   string
	owners []int // users besides the process's own whose files may be used
}

// FileStoreOption configures a FileStore; AllowFileOwner is the one there is.
type FileStoreOption interface{ applyFileStore(*FileStore) }

type allowFileOwner int

func (uid allowFileOwner) applyFileStore(s *FileStore) { s.owners = append(s.owners, int(uid)) }

// AllowFileOwner lets the store use a token file, lock file and folder that
// belong to user uid, besides those of the user the process runs as. Use it
// only for a user you trust with the token, for example a service account
// whose token file a root job must read. Give it once per user.
func AllowFileOwner(uid int) FileStoreOption { return allowFileOwner(uid) }

// NewFileStore returns a store for the token file at path. A relative path is
// made absolute now, so a later change of working directory does not move
// the store. Nothing is read or created until the first call.
func NewFileStore(path string, opts ...FileStoreOption) *FileStore {
	if path != "" {
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
	}
	s := &FileStore{path: path}
	for _, o := range opts {
		o.applyFileStore(s)
	}
	return s
}

// DefaultTokenPath returns the token file used when the user names none:
// zohoauth/token.json in the user's configuration folder (os.UserConfigDir).
func DefaultTokenPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("zohoauth: no default token path: %w", err)
	}
	return filepath.Join(dir, "zohoauth", "token.json"), nil
}

// Path returns the token file's path.
func (s *FileStore) Path() string { return s.path }

// String names the store by its path; it never shows the token.
func (s *FileStore) String() string { return fmt.Sprintf("zohoauth.FileStore(%q)", s.path) }

// GoString is used by %#v; like String it shows the path only.
func (s *FileStore) GoString() string { return s.String() }

// maxTokenFile bounds what Load reads: a token file is a few hundred bytes.
const maxTokenFile = 64 << 10

var errNoPath = errors.New("zohoauth: FileStore has no path; create it with NewFileStore")

// Load reads the token file. A missing file gives an error matching
// ErrNoToken. A file that other users may read or write, or whose content is
// not a complete token, gives an error naming the file and what to do.
func (s *FileStore) Load(ctx context.Context) (*Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.path == "" {
		return nil, errNoPath
	}
	data, err := s.read()
	if err != nil {
		return nil, err
	}
	return s.decode(data)
}

func (s *FileStore) read() ([]byte, error) {
	data, err := s.readPrivate(s.path, "token file", maxTokenFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, &missingFileError{path: s.path, err: err}
	case errors.Is(err, errTooLarge):
		return nil, s.damaged(fmt.Sprintf("it is larger than %d bytes, far more than a token", maxTokenFile))
	}
	return data, err
}

var errTooLarge = errors.New("file too large")

// readPrivate reads at most limit bytes of the file at path, one of the
// store's (what names it in errors: "token file"), after checking that it
// is a regular file in a folder of the user's own, owned by the user and
// private. A missing file gives an error matching fs.ErrNotExist; a larger
// one, errTooLarge.
func (s *FileStore) readPrivate(path, what string, limit int) ([]byte, error) {
	if err := s.checkFolder(); err != nil {
		return nil, err
	}
	// Look before opening: a device must not even be opened. The checks
	// are made again on what was opened, in case the path changed between.
	if _, err := s.statRegular(path, what); err != nil {
		return nil, err
	}
	// Without O_NONBLOCK, a FIFO put there since the Stat would block the
	// open until a writer came.
	f, err := os.OpenFile(path, os.O_RDONLY|openNoBlock, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("zohoauth: cannot open %s %s: %w", what, path, bare(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("zohoauth: cannot stat %s %s: %w", what, path, bare(err))
	}
	if err := s.checkRegular(path, what, fi); err != nil {
		return nil, err
	}
	if err := s.checkOwner(what+" "+path, "it", path, fi); err != nil {
		return nil, err
	}
	if err := checkPrivate(path, what, fi.Mode()); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("zohoauth: cannot read %s %s: %w", what, path, bare(err))
	}
	if len(data) > limit {
		return nil, errTooLarge
	}
	return data, nil
}

// checkFolder refuses a token file whose folder belongs to another user,
// who could replace the file. A missing folder is left to the caller.
func (s *FileStore) checkFolder() error {
	dir := filepath.Dir(s.path)
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("zohoauth: cannot stat the folder of token file %s: %w", s.path, bare(err))
	}
	return s.checkOwner("token file "+s.path, "its folder "+dir, dir, fi)
}

// checkOwner refuses the file or folder at path, described by fi, if it
// belongs to a user other than the process's own and those AllowFileOwner
// names. A folder may also belong to root. The error says "refusing to use
// subject: which belongs to user N".
func (s *FileStore) checkOwner(subject, which, path string, fi fs.FileInfo) error {
	uid, ok := fileOwner(fi)
	me := os.Geteuid()
	if !ok || uid == me || slices.Contains(s.owners, uid) || fi.IsDir() && uid == 0 {
		return nil
	}
	return fmt.Errorf("zohoauth: refusing to use %s: %s belongs to user %d, not to user %d that this process runs as, "+
		"so user %d could read or replace the token; run as user %d, or `chown %d %s`, "+
		"or, if you trust user %d, create the store with zohoauth.AllowFileOwner(%d)",
		subject, which, uid, me, uid, uid, me, path, uid, uid)
}

// statRegular stats path, following links, and refuses anything there but
// a regular file. A missing path gives the bare fs.ErrNotExist error.
func (s *FileStore) statRegular(path, what string) (fs.FileInfo, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("zohoauth: cannot stat %s %s: %w", what, path, bare(err))
	}
	return fi, s.checkRegular(path, what, fi)
}

// checkRegular refuses anything at path but a regular file: reading a FIFO
// or a device can block forever or never end, and a folder or socket holds
// no token. what names the file in the error ("token file", "lock file").
func (s *FileStore) checkRegular(path, what string, fi fs.FileInfo) error {
	if fi.Mode().IsRegular() {
		return nil
	}
	return fmt.Errorf("zohoauth: refusing to use %s %s: it is %s, not a regular file; "+
		"remove or rename it, or give the store another path", what, path, kindOf(fi.Mode()))
}

// kindOf names a file type for people.
func kindOf(m fs.FileMode) string {
	switch {
	case m&fs.ModeDir != 0:
		return "a folder"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "a special file (" + m.Type().String() + ")"
}

// checkPrivate refuses a file that group or others may read or write: its
// refresh token would be theirs too. Windows and Plan 9 do not report Unix
// permission bits, so the check is skipped there.
func checkPrivate(path, what string, mode fs.FileMode) error {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		return nil
	}
	if mode.Perm()&0o066 == 0 {
		return nil
	}
	return fmt.Errorf("zohoauth: refusing to use %s %s: its mode %04o lets other users read or change it; "+
		"run `chmod 600 %s` and, if others may have read it, revoke the token and exchange a new grant",
		what, path, mode.Perm(), path)
}

// decode parses the file's content. Its errors describe where the content is
// wrong without quoting it: json and time errors can echo token values.
func (s *FileStore) decode(data []byte) (*Token, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, s.damaged("it is empty")
	}
	// Decoded strictly: a field this version does not know means a newer
	// format, which must not be read half and then written over.
	var j tokenJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return nil, s.damaged(describeJSONError(err, len(data)))
	}
	if dec.More() {
		return nil, s.damaged("it is not valid JSON (more than one value)")
	}
	if j.AccessToken == "" {
		return nil, s.damaged("it holds no access token")
	}
	tok := j.token()
	return &tok, nil
}

func describeJSONError(err error, size int) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn) && syn.Offset >= int64(size):
		return fmt.Sprintf("it ends after %d bytes, inside the JSON (truncated)", size)
	case errors.As(err, &syn):
		return fmt.Sprintf("it is not valid JSON (bad byte at offset %d)", syn.Offset)
	case errors.As(err, &typ) && typ.Field != "":
		return fmt.Sprintf("field %q holds a %s (offset %d)", typ.Field, jsonKind(typ.Value), typ.Offset)
	case errors.As(err, &typ):
		return "it is not a JSON object"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "it has a field this version does not know (a newer format?)"
	}
	// Token's only field with its own decoder is the expiry.
	return `field "expiry" is not an RFC 3339 time in a JSON string`
}

// jsonKind keeps the first word of UnmarshalTypeError.Value ("number 123"
// becomes "number") so no value is echoed.
func jsonKind(v string) string {
	kind, _, _ := strings.Cut(v, " ")
	switch kind {
	case "bool", "number", "string", "array", "object", "null":
		return kind
	}
	return "value of the wrong type"
}

func (s *FileStore) damaged(what string) error {
	return &damagedError{fmt.Sprintf("zohoauth: token file %s is damaged: %s; it was left as it is: restore it from a backup "+
		"or run `zohoauth exchange` again to write a new token", s.path, what)}
}

// missingFileError is Load's error when the token file does not exist. It
// matches ErrNoToken and fs.ErrNotExist.
type missingFileError struct {
	path string
	err  error
}

func (e *missingFileError) Error() string {
	return fmt.Sprintf("zohoauth: no token stored: %s does not exist; run `zohoauth exchange` to create it", e.path)
}

func (e *missingFileError) Unwrap() []error { return []error{ErrNoToken, e.err} }

// Save writes tok to the file, replacing it atomically. It creates missing
// folders with mode 0700. A failed Save leaves the previous file, if any,
// untouched, with one exception its error spells out: when only the final
// flush of the folder fails, the new token is already in place.
func (s *FileStore) Save(ctx context.Context, tok *Token) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.path == "" {
		return errNoPath
	}
	if err := checkSavable(tok); err != nil {
		return err
	}
	data, err := json.MarshalIndent(tok, "", "  ")
	if err != nil {
		return s.saveFailed("cannot encode the token", err)
	}
	data = append(data, '\n')
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return s.saveFailed("cannot create its folder", err)
	}
	if err := s.checkFolder(); err != nil {
		return err
	}
	// A symbolic link is replaced; anything else that is not a regular
	// file is somebody's mistake, not a token to overwrite, and another
	// user's token file is theirs.
	if fi, err := os.Lstat(s.path); err == nil && fi.Mode().Type() != fs.ModeSymlink {
		if err := s.checkRegular(s.path, "token file", fi); err != nil {
			return err
		}
		if err := s.checkOwner("token file "+s.path, "it", s.path, fi); err != nil {
			return err
		}
	}
	replaced, err := replaceFile(ctx, s.path, data, true)
	switch {
	case err == nil:
		s.removeStaleTemps(dir, time.Now())
		return nil
	case replaced:
		return fmt.Errorf("zohoauth: token file %s was replaced, but its folder could not be flushed to disk, "+
			"so a system crash may bring back the previous token: %w", s.path, bare(err))
	}
	var step *stepError
	if errors.As(err, &step) {
		return s.saveFailed(step.step, step.err)
	}
	return err // ctx's
}

// replaceFile writes data to path atomically: a temporary file in the same
// folder, fsync, rename, fsync of the folder. A crash leaves the old content
// or the new, never a torn file. replaced reports whether the new content
// is in place, which it is when only the folder's flush failed. Errors are
// *stepError, except ctx's, returned as it is.
//
// Without durable the fsyncs are left out: a crash still leaves the old
// content or the new, but a power failure may lose the new or leave an empty
// file, which only a file that may be lost can afford.
func replaceFile(ctx context.Context, path string, data []byte, durable bool) (replaced bool, err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return false, &stepError{"cannot create a temporary file beside it", err}
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return false, &stepError{"cannot write the temporary file", err}
	}
	if durable {
		if err := tmp.Sync(); err != nil {
			return false, &stepError{"cannot flush the temporary file to disk", err}
		}
	}
	if err := tmp.Close(); err != nil {
		return false, &stepError{"cannot close the temporary file", err}
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return false, &stepError{"cannot move the temporary file into place", err}
	}
	committed = true
	if !durable {
		return true, nil
	}
	return true, syncDir(dir)
}

// stepError is a step of replaceFile that failed, and why.
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.step + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

// staleTempAge is how old a temporary file beside the token file must be
// before Save deletes it as the leftover of a crashed save. A save in
// progress holds its file for milliseconds; an hour leaves room for a disk
// that hangs.
const staleTempAge = time.Hour

// removeStaleTemps deletes the temporary files that crashed saves of this
// token file left behind: they hold tokens, and nothing else removes them.
// It is best effort; what it cannot read or remove stays.
func (s *FileStore) removeStaleTemps(dir string, now time.Time) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	prefix := "." + filepath.Base(s.path) + "."
	for _, e := range entries {
		name := e.Name()
		digits, ok := strings.CutPrefix(name, prefix)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		if digits, ok = strings.CutSuffix(digits, ".tmp"); !ok || !allDigits(digits) {
			continue // another file's, or not one of ours
		}
		if info, err := e.Info(); err == nil && now.Sub(info.ModTime()) > staleTempAge {
			os.Remove(filepath.Join(dir, name))
		}
	}
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

func (s *FileStore) saveFailed(what string, err error) error {
	return fmt.Errorf("zohoauth: cannot save token file %s: %s (the previous token, if any, is unchanged): %w",
		s.path, what, bare(err))
}

// Delete removes the token file. Deleting a missing file is not an error.
// The lock file stays: removing it could let two processes lock different
// files.
func (s *FileStore) Delete(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.path == "" {
		return errNoPath
	}
	if err := os.Remove(s.path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("zohoauth: cannot delete token file %s: %w", s.path, bare(err))
	}
	if err := syncDir(filepath.Dir(s.path)); err != nil {
		return fmt.Errorf("zohoauth: token file %s was deleted, but its folder could not be flushed to disk: %w",
			s.path, bare(err))
	}
	return nil
}

// syncDir makes a rename or removal in dir durable. Windows cannot open a
// folder for syncing, and some file systems do not support it (EINVAL);
// neither is an error.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, errors.ErrUnsupported) {
		err = nil
	}
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// lockPoll is how often Lock retries a lock that another process holds.
const lockPoll = 10 * time.Millisecond

// LockPath returns the path of the lock file beside the token file.
func (s *FileStore) LockPath() string { return s.path + ".lock" }

// Lock takes the store's lock, waiting until it is free or ctx ends. It
// excludes every other holder: other processes through an flock on the lock
// file, and other Locks in this process, on this or another FileStore for
// the same path, through an in-process lock. lease is ignored: the lock is
// held until unlock is called or the process exits.
func (s *FileStore) Lock(ctx context.Context, lease time.Duration) (unlock func(), err error) {
	if s.path == "" {
		return nil, errNoPath
	}
	lockPath := s.LockPath()
	if err := ctx.Err(); err != nil {
		return nil, s.lockWaitEnded(ctx)
	}
	release, err := lockInProcess(ctx, lockPath)
	if err != nil {
		return nil, s.lockWaitEnded(ctx)
	}
	if err := os.MkdirAll(filepath.Dir(lockPath), 0o700); err != nil {
		release()
		return nil, fmt.Errorf("zohoauth: cannot create the folder of lock file %s: %w", lockPath, bare(err))
	}
	if err := s.checkFolder(); err != nil {
		release()
		return nil, err
	}
	if err := s.checkLockFile(); err != nil {
		release()
		return nil, err
	}
	fl := flock.New(lockPath, flock.SetPermissions(0o600), flock.SetFlag(lockOpenFlags))
	ok, err := fl.TryLockContext(ctx, lockPoll)
	if !ok || err != nil {
		_ = fl.Close()
		release()
		if ctx.Err() != nil {
			return nil, s.lockWaitEnded(ctx)
		}
		return nil, fmt.Errorf("zohoauth: cannot lock %s: %w", lockPath, bare(err))
	}
	// Look again: the path may have changed between the check and the open.
	if err := s.checkLockFile(); err != nil {
		_ = fl.Close()
		release()
		return nil, err
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			_ = fl.Unlock()
			release()
		})
	}, nil
}

// lockOpenFlags are flock.New's own open flags plus openNoBlock, so that a
// FIFO at the lock path cannot block the open.
var lockOpenFlags = func() int {
	switch runtime.GOOS {
	case "aix", "solaris", "illumos": // no exclusive lock on a read-only file
		return os.O_CREATE | os.O_RDWR | openNoBlock
	}
	return os.O_CREATE | os.O_RDONLY | openNoBlock
}()

// checkLockFile refuses a lock path that holds something other than a
// regular file, or a file of another user. A missing lock file is fine:
// flock creates it.
func (s *FileStore) checkLockFile() error {
	fi, err := s.statRegular(s.LockPath(), "lock file")
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.checkOwner("lock file "+s.LockPath(), "it", s.LockPath(), fi)
}

func (s *FileStore) lockWaitEnded(ctx context.Context) error {
	return fmt.Errorf("zohoauth: gave up waiting for lock file %s: %w", s.LockPath(), context.Cause(ctx))
}

// bare strips the operation and path from an *fs.PathError or
// *os.LinkError, whose path the message already names, keeping the cause
// (and so errors.Is matches such as fs.ErrPermission).
func bare(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

// procLocks serialises Locks within this process. An flock belongs to an
// open file, and some systems emulate it with per-process fcntl locks, so the
// flock alone need not exclude two holders in one process. Entries are keyed
// by lock path and removed when no Lock uses them.
var procLocks = struct {
	sync.Mutex
	m map[string]*procLock
}{m: map[string]*procLock{}}

type procLock struct {
	held semaphore
	refs int // Locks holding or waiting
}

func lockInProcess(ctx context.Context, key string) (release func(), err error) {
	procLocks.Lock()
	l := procLocks.m[key]
	if l == nil {
		l = &procLock{held: newSemaphore()}
		procLocks.m[key] = l
	}
	l.refs++
	procLocks.Unlock()
	drop := func() {
		procLocks.Lock()
		l.refs--
		if l.refs == 0 {
			delete(procLocks.m, key)
		}
		procLocks.Unlock()
	}
	if err := l.held.acquire(ctx); err != nil {
		drop()
		return nil, err
	}
	return func() { l.held.release(); drop() }, nil
}
