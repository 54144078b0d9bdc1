package zohoauth

import (
	"context"
	"log/slog"
	"time"
)

// Defaults of a Source.
const (
	DefaultRefreshWindow  = 5 * time.Minute
	DefaultRefreshTimeout = 30 * time.Second
)

// Option configures a Source.
type Option interface{ apply(*options) }

// options is how a Source is configured.
type options struct {
	start     *Token // WithToken's token, sealed
	store     Store
	window    time.Duration
	timeout   time.Duration
	log       *slog.Logger
	onRefresh func(context.Context, *Token) error
}

func newOptions(opts []Option) options {
	o := options{window: DefaultRefreshWindow, timeout: DefaultRefreshTimeout}
	for _, opt := range opts {
		opt.apply(&o)
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	return o
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithToken starts the source from tok, for example the result of Exchange
// or a token rebuilt from saved values. A token without a refresh token is
// served until it expires and cannot be renewed.
func WithToken(tok *Token) Option {
	return optionFunc(func(o *options) {
		if tok != nil {
			o.start = tok.sealed()
		}
	})
}

// WithStore makes the source load its token from store on first use and save
// every new token to it. See Source for how a Locker store coordinates.
func WithStore(store Store) Option { return optionFunc(func(o *options) { o.store = store }) }

// WithRefreshWindow sets how long before expiry a token counts as stale and a
// background refresh starts. The default is DefaultRefreshWindow. Keep it
// below the token lifetime.
func WithRefreshWindow(d time.Duration) Option {
	return optionFunc(func(o *options) {
		if d >= 0 {
			o.window = d
		}
	})
}

// WithRefreshTimeout bounds one shared refresh, including the wait for the
// store's lock. The default is DefaultRefreshTimeout.
func WithRefreshTimeout(d time.Duration) Option {
	return optionFunc(func(o *options) {
		if d > 0 {
			o.timeout = d
		}
	})
}

// WithLogger makes the source log refresh events (debug: started; info:
// succeeded; warn/error: failed). Tokens and secrets are never logged. By
// default a Source logs nothing.
func WithLogger(l *slog.Logger) Option { return optionFunc(func(o *options) { o.log = l }) }

// WithOnRefresh calls fn after every token the source mints and stores. An
// error from fn is logged; it does not undo the refresh.
func WithOnRefresh(fn func(ctx context.Context, tok *Token) error) Option {
	return optionFunc(func(o *options) { o.onRefresh = fn })
}
