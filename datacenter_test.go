package zohoauth_test

import (
	"errors"
	"testing"

	"github.com/go-zoho/zohoauth"
)

func TestDataCenterFromRedirect(t *testing.T) {
	cases := []struct {
		location, server string
		want             zohoauth.DataCenter
		ok               bool
	}{
		{"eu", "https://accounts.zoho.eu", zohoauth.EU, true},
		{"", "https://accounts.zoho.eu", zohoauth.EU, true},
		{"in", "", zohoauth.IN, true},
		{"us", "https://accounts.zoho.com", zohoauth.US, true},
		{"au", "https://accounts.zoho.com.au", zohoauth.AU, true},
		{"au", "https://accounts.zoho.au", zohoauth.AU, true},
		{"ca", "https://accounts.zohocloud.ca", zohoauth.CA, true},
		{"cn", "https://accounts.zoho.com.cn/", zohoauth.CN, true},
		{"EU", "https://ACCOUNTS.ZOHO.EU", zohoauth.EU, true},
		{"eu", "https://accounts.zoho.com", zohoauth.DataCenter{}, false}, // disagree
		{"eu", "https://accounts.zoho.eu.evil.example", zohoauth.DataCenter{}, false},
		{"", "https://evil.example", zohoauth.DataCenter{}, false},
		{"", "http://accounts.zoho.eu", zohoauth.DataCenter{}, false},       // not https
		{"", "https://accounts.zoho.eu:8443", zohoauth.DataCenter{}, false}, // port
		{"", "https://user@accounts.zoho.eu", zohoauth.DataCenter{}, false},
		{"", "https://accounts.zoho.eu/oauth?x=1", zohoauth.DataCenter{}, false},
		{"", "https://accounts.zoho.eu@evil.example", zohoauth.DataCenter{}, false},
		{"ae", "https://accounts.zoho.ae", zohoauth.AE, true},
		{"", "https://accounts.zoho.eu.", zohoauth.EU, true},                      // the same host, fully qualified
		{"", "https://accounts.zoho.\u0435u", zohoauth.DataCenter{}, false},       // Cyrillic e
		{"", "https://accounts.zoho.e\u0075\u0307", zohoauth.DataCenter{}, false}, // combining dot
		{"", "https://accounts.zoho.u\u212a", zohoauth.DataCenter{}, false},       // Kelvin sign folds to k
		{"", "https://accounts.zoho.in\u0130", zohoauth.DataCenter{}, false},
		{"in", "https://accounts.zoho.%C4%B0n", zohoauth.DataCenter{}, false}, // U+0130 lower-cases to i
		{"", "https://accounts\uff0ezoho\uff0eeu", zohoauth.DataCenter{}, false},
		{"", "https://xn--accounts-zoho-eu.example", zohoauth.DataCenter{}, false},
		{"mars", "", zohoauth.DataCenter{}, false},
		{"", "", zohoauth.DataCenter{}, false},
	}
	for _, c := range cases {
		got, err := zohoauth.DataCenterFromRedirect(c.location, c.server)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("(%q, %q) = %+v, %v; want %+v ok=%v", c.location, c.server, got, err, c.want, c.ok)
		}
	}
	if _, err := zohoauth.DataCenterFromRedirect("", "https://evil.example"); !errors.Is(err, zohoauth.ErrUnknownAccountsServer) {
		t.Errorf("foreign server: err = %v, want ErrUnknownAccountsServer", err)
	}
}

func TestLookupDataCenter(t *testing.T) {
	for name, want := range map[string]zohoauth.DataCenter{
		"us": zohoauth.US, "EU": zohoauth.EU, "com": zohoauth.US, "com.au": zohoauth.AU, "uk": zohoauth.UK,
		"sa": zohoauth.SA, "jp": zohoauth.JP, "ca": zohoauth.CA, " in ": zohoauth.IN, "com.cn": zohoauth.CN,
		"ae": zohoauth.AE, "AE": zohoauth.AE, "zoho.ae": zohoauth.AE, "zohocloud.ca": zohoauth.CA,
	} {
		if got, ok := zohoauth.LookupDataCenter(name); !ok || got != want {
			t.Errorf("LookupDataCenter(%q) = %+v, %v", name, got, ok)
		}
	}
	if _, ok := zohoauth.LookupDataCenter("xx"); ok {
		t.Error("unknown DC found")
	}
	if n := len(zohoauth.DataCenters()); n != 10 {
		t.Errorf("%d data centers, want 10", n)
	}
}
