package zohoauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// FileStore's Ledger: the call budget and refresh state of the stored
// refresh token, shared by every process on the host that uses the token
// file, in "<path>.ledger" beside it (mode 0600). It holds no secret: call
// times, and a state that names tokens by a digest. Like the token file it
// is replaced atomically, so a crash leaves the old ledger or the new one.
//
// A Source reads and writes the ledger only while it holds the store's
// lock, which makes each step atomic across processes; within one process
// the ledger has a lock of its own too. A damaged ledger counts as empty
// and is replaced by the next write: it holds no token, and the budget it
// loses is one window's.
//
// TakeCall writes without fsync: it runs just before a token call, which a
// flush lasting tens of milliseconds would hold up while callers wait. The
// state saved after the call (SaveState) is flushed, and the calls with it;
// a process crash loses nothing, a power failure at most the last call.

// maxLedgerFile bounds what is read of a ledger file.
const maxLedgerFile = 64 << 10

// LedgerPath returns the path of the ledger file beside the token file.
func (s *FileStore) LedgerPath() string { return s.path + ".ledger" }

// ledgerFile is the ledger's content.
type ledgerFile struct {
	Calls []time.Time `json:"calls,omitempty"`
	State []byte      `json:"state,omitempty"` // base64 in the file
}

// TakeCall implements Ledger.
func (s *FileStore) TakeCall(ctx context.Context, now, at time.Time, limit int, window time.Duration) (bool, []time.Time, error) {
	var ok bool
	var calls []time.Time
	err := s.updateLedger(ctx, false, func(lf *ledgerFile) bool {
		log := callLog(lf.Calls)
		before := len(log)
		ok, calls = log.take(now, at, limit, window)
		lf.Calls = log
		return ok || len(log) != before
	})
	if err != nil {
		return false, nil, err
	}
	return ok, calls, nil
}

// LoadState implements Ledger.
func (s *FileStore) LoadState(ctx context.Context) ([]byte, error) {
	var state []byte
	err := s.updateLedger(ctx, false, func(lf *ledgerFile) bool {
		if len(lf.State) <= MaxLedgerState {
			state = lf.State
		}
		return false
	})
	return state, err
}

// SaveState implements Ledger.
func (s *FileStore) SaveState(ctx context.Context, state []byte) error {
	if len(state) > MaxLedgerState {
		return errStateTooLarge
	}
	return s.updateLedger(ctx, true, func(lf *ledgerFile) bool {
		lf.State = append([]byte(nil), state...)
		return true
	})
}

// updateLedger reads the ledger, lets change look at it and change it, and
// writes it back if change says so, flushed to disk when durable.
func (s *FileStore) updateLedger(ctx context.Context, durable bool, change func(*ledgerFile) bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.path == "" {
		return errNoPath
	}
	path := s.LedgerPath()
	release, err := lockInProcess(ctx, path)
	if err != nil {
		return err
	}
	defer release()
	var lf ledgerFile
	data, err := s.readPrivate(path, "ledger file", maxLedgerFile)
	switch {
	case err == nil:
		if json.Unmarshal(data, &lf) != nil {
			lf = ledgerFile{} // damaged: replaced by this write
		}
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, errTooLarge):
	default:
		return err
	}
	if !change(&lf) {
		return nil
	}
	data, err = json.Marshal(lf)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return s.saveFailed("cannot create its folder", err)
	}
	if _, err := replaceFile(ctx, path, data, durable); err != nil {
		return fmt.Errorf("zohoauth: cannot write ledger file %s: %w", path, err)
	}
	return nil
}
