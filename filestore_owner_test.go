//go:build unix

package zohoauth_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zoho/zohoauth"
	"github.com/go-zoho/zohoauth/zohotest"
)

// otherUser owns the files these tests give away: nobody, on most systems.
const otherUser = 65534

// giveAway makes path belong to otherUser, or skips the test where this
// process may not (only root may give files away).
func giveAway(t *testing.T, path string) {
	t.Helper()
	if os.Geteuid() == otherUser {
		t.Skipf("running as user %d, the user these tests give files to", otherUser)
	}
	if err := os.Lchown(path, otherUser, otherUser); err != nil {
		t.Skipf("cannot give %s to user %d (only root can; run the tests as root to check ownership): %v",
			filepath.Base(path), otherUser, err)
	}
}

// checkOwnerErr checks the refusal of another user's file: it names the
// file, the owner and what to do, and holds no secret.
func checkOwnerErr(t *testing.T, what string, err error, path, owned string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error; want a refusal of user %d's file", what, otherUser)
		return
	}
	msg := err.Error()
	uid := strconv.Itoa(otherUser)
	for _, want := range []string{path, "belongs to user " + uid, "chown " + strconv.Itoa(os.Geteuid()) + " " + owned,
		"zohoauth.AllowFileOwner(" + uid + ")"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%s: error %q does not say %q", what, msg, want)
		}
	}
	for _, secret := range secretsOf(numbered(1), numbered(2)) {
		if strings.Contains(msg, secret) {
			t.Errorf("%s: error %q holds a secret", what, msg)
		}
	}
	if errors.Is(err, zohoauth.ErrNoToken) {
		t.Errorf("%s: error %q reads as \"no token stored\"", what, msg)
	}
}

func tryLock(s *zohoauth.FileStore) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	unlock, err := s.Lock(ctx, time.Minute)
	if err == nil {
		unlock()
	}
	return err
}

// A token file of another user, or one in a folder of another user (who
// could replace it), is refused by Load, Save and Lock and left as it was,
// unless AllowFileOwner names that user.
func TestFileStoreRefusesAnotherUsersFiles(t *testing.T) {
	for _, given := range []string{"token file", "folder"} {
		t.Run(given, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "theirs", "token.json")
			mustSave(t, zohoauth.NewFileStore(path), numbered(1))
			owned := path
			if given == "folder" {
				owned = filepath.Dir(path)
			}
			giveAway(t, owned)
			s := zohoauth.NewFileStore(path)
			ctx := context.Background()

			_, err := s.Load(ctx)
			checkOwnerErr(t, "Load", err, path, owned)
			checkOwnerErr(t, "Save", s.Save(ctx, numbered(2)), path, owned)
			if given == "folder" {
				checkOwnerErr(t, "Lock", tryLock(s), path, owned)
				if err == nil || !strings.Contains(err.Error(), "its folder "+owned) {
					t.Errorf("Load: error %v does not say that the folder is the problem", err)
				}
			}

			allowed := zohoauth.NewFileStore(path, zohoauth.AllowFileOwner(otherUser))
			assertHolds(t, allowed, 1)
			mustSave(t, allowed, numbered(2))
			assertHolds(t, allowed, 2)
			if err := tryLock(allowed); err != nil {
				t.Errorf("Lock with AllowFileOwner: %v", err)
			}
		})
	}
}

// A lock file of another user, who could hold it forever, is refused.
func TestFileStoreRefusesAnotherUsersLockFile(t *testing.T) {
	s := zohoauth.NewFileStore(filepath.Join(t.TempDir(), "token.json"))
	if err := tryLock(s); err != nil { // creates the lock file
		t.Fatal(err)
	}
	giveAway(t, s.LockPath())
	checkOwnerErr(t, "Lock", tryLock(s), s.LockPath(), s.LockPath())
	if err := tryLock(zohoauth.NewFileStore(s.Path(), zohoauth.AllowFileOwner(otherUser))); err != nil {
		t.Errorf("Lock with AllowFileOwner: %v", err)
	}
}

// A root cron job's Source does not pick up another user's token: Token
// fails with the refusal and no token call is made.
func TestSourceRefusesAnotherUsersTokenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.json")
	srv := newZoho(t, zohotest.Options{})
	mustSave(t, zohoauth.NewFileStore(path), issuedToken(srv, -time.Minute))
	giveAway(t, path)
	src := zohoauth.NewSource(fakeCredentials(srv.Transport()), zohoauth.WithStore(zohoauth.NewFileStore(path)))
	defer src.Close()
	_, err := src.Token(context.Background())
	checkOwnerErr(t, "Token", err, path, path)
	if n := len(tokenCalls(srv)); n != 0 {
		t.Errorf("%d token calls with another user's refresh token; want none", n)
	}
}
