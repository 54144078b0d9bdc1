package zohoauth_test

import (
	"os"
	"strings"
	"testing"

	"github.com/go-zoho/zohoauth"
)

// productRow renders a product as README.md's table shows it, with EU's
// domains standing for every data center's.
func productRow(p zohoauth.Product) string {
	var apis []string
	for _, a := range p.APIs {
		a = strings.NewReplacer("{zohoapis}", "zohoapis.eu", "{zoho}", "zoho.eu").Replace(a)
		apis = append(apis, "`"+a+"`")
	}
	adds := p.Adds
	if adds == "" {
		adds = "-"
	}
	recovery := "none known: the 401 comes back"
	switch {
	case len(p.DeadToken) > 0 && p.Confirmed:
		recovery = "confirmed"
	case len(p.DeadToken) > 0:
		recovery = "best effort"
	case len(p.Ambiguous) > 0 && p.Confirmed:
		recovery = "confirmed, once per token"
	case len(p.Ambiguous) > 0:
		recovery = "best effort, once per token"
	}
	return "| " + p.Name + " | " + strings.Join(apis, ", ") + " | " + adds + " | " + recovery + " |"
}

// README.md's table of products is the package's own table.
func TestREADMEProductTable(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range zohoauth.Products() {
		if row := productRow(p); !strings.Contains(string(readme), row+"\n") {
			t.Errorf("README.md lacks the row\n%s", row)
		}
	}
}
