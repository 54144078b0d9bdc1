package zohotest

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// The resources of the products other than CRM: one list per product and
// a create where Zoho's API makes it cheap. Each stores what a client
// created per data center (and per organization where the product has
// one), so that a create shows up in the next list.

// nextID returns a new Zoho-style numeric id.
func (s *Server) nextID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastID++
	return strconv.FormatInt(5725767000000400000+s.lastID, 10)
}

func (s *Server) list(key string) []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]json.RawMessage{}, s.items[key]...)
}

func (s *Server) add(key string, v any) json.RawMessage {
	raw := json.RawMessage(marshal(v))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items[key] = append(s.items[key], raw)
	return raw
}

// decodeObject reads a JSON object body of at most 1 MiB.
func decodeObject(c *call) (map[string]json.RawMessage, bool) {
	var obj map[string]json.RawMessage
	err := json.NewDecoder(http.MaxBytesReader(c.w, c.r.Body, 1<<20)).Decode(&obj)
	return obj, err == nil && obj != nil
}

// numeric reports whether v is a non-empty string of digits, the shape of
// Zoho's organization and portal ids.
func numeric(v string) bool {
	_, err := strconv.ParseUint(v, 10, 64)
	return err == nil
}

// Books: GET and POST /books/v3/invoices?organization_id=...

var errBooksOrg = answer{400, `{"code":2,"message":"Invalid value passed for organization_id"}`}

// orgID returns v when it is an organization id, or answers bad.
func orgID(c *call, v string, bad answer) (string, bool) {
	if !numeric(v) {
		writeAnswer(c.w, bad)
		return "", false
	}
	return v, true
}

func booksOrg(c *call) (string, bool) {
	return orgID(c, c.r.URL.Query().Get("organization_id"), errBooksOrg)
}

func listBooksInvoices(s *Server, c *call) {
	org, ok := booksOrg(c)
	if !ok {
		return
	}
	invoices := s.list(c.dc.location + "/books/" + org + "/invoices")
	writeJSON(c.w, http.StatusOK, map[string]any{
		"code":     0,
		"message":  "success",
		"invoices": invoices,
		"page_context": map[string]any{
			"page": 1, "per_page": 200, "has_more_page": false,
		},
	})
}

func createBooksInvoice(s *Server, c *call) {
	org, ok := booksOrg(c)
	if !ok {
		return
	}
	inv, ok := decodeObject(c)
	if !ok {
		writeAnswer(c.w, answer{400, `{"code":2,"message":"Invalid value passed for JSONString"}`})
		return
	}
	inv["invoice_id"] = json.RawMessage(strconv.Quote(s.nextID()))
	stored := s.add(c.dc.location+"/books/"+org+"/invoices", inv)
	writeJSON(c.w, http.StatusCreated, map[string]any{
		"code":    0,
		"message": "The invoice has been created.",
		"invoice": stored,
	})
}

// WorkDrive: GET /workdrive/api/v1/files/{folder}/files and POST
// /workdrive/api/v1/files (create a folder), in JSON:API's shape.

const jsonAPI = "application/vnd.api+json"

type workDriveFile struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Attributes struct {
		Name     string `json:"name"`
		ParentID string `json:"parent_id"`
		Type     string `json:"type"`
	} `json:"attributes"`
}

func writeJSONAPI(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", jsonAPI)
	w.WriteHeader(status)
	w.Write(marshal(v))
}

func listWorkDriveFiles(s *Server, c *call) {
	parent := c.params[0]
	data := []workDriveFile{}
	for _, raw := range s.list(c.dc.location + "/workdrive/files") {
		var f workDriveFile
		if json.Unmarshal(raw, &f) == nil && f.Attributes.ParentID == parent {
			data = append(data, f)
		}
	}
	writeJSONAPI(c.w, http.StatusOK, map[string]any{"data": data})
}

func createWorkDriveFolder(s *Server, c *call) {
	var in struct {
		Data struct {
			Type       string `json:"type"`
			Attributes struct {
				Name     string `json:"name"`
				ParentID string `json:"parent_id"`
			} `json:"attributes"`
		} `json:"data"`
	}
	err := json.NewDecoder(http.MaxBytesReader(c.w, c.r.Body, 1<<20)).Decode(&in)
	if err != nil || in.Data.Type != "files" || in.Data.Attributes.Name == "" || in.Data.Attributes.ParentID == "" {
		writeAnswer(c.w, answer{400, `{"errors":[{"id":"F6000","title":"Invalid input."}]}`})
		return
	}
	f := workDriveFile{ID: s.nextID(), Type: "files"}
	f.Attributes.Name, f.Attributes.ParentID, f.Attributes.Type = in.Data.Attributes.Name, in.Data.Attributes.ParentID, "folder"
	s.add(c.dc.location+"/workdrive/files", f)
	writeJSONAPI(c.w, http.StatusCreated, map[string]any{"data": f})
}

// Desk: GET and POST /api/v1/tickets with the orgId header.

var errDeskOrg = answer{400, `{"errorCode":"INVALID_DATA","message":"The orgId header is missing or not an organization id."}`}

func deskOrg(c *call) (string, bool) {
	return orgID(c, c.r.Header.Get("orgId"), errDeskOrg)
}

func listDeskTickets(s *Server, c *call) {
	org, ok := deskOrg(c)
	if !ok {
		return
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"data": s.list(c.dc.location + "/desk/" + org + "/tickets")})
}

func createDeskTicket(s *Server, c *call) {
	org, ok := deskOrg(c)
	if !ok {
		return
	}
	t, ok := decodeObject(c)
	var subject string
	if !ok || json.Unmarshal(t["subject"], &subject) != nil || subject == "" {
		writeAnswer(c.w, answer{422, `{"errorCode":"UNPROCESSABLE_ENTITY","message":"The request does not contain a subject."}`})
		return
	}
	t["id"] = json.RawMessage(strconv.Quote(s.nextID()))
	writeJSON(c.w, http.StatusOK, s.add(c.dc.location+"/desk/"+org+"/tickets", t))
}

// Mail: GET /api/accounts, the mail accounts of the token's user.

func listMailAccounts(s *Server, c *call) {
	writeJSON(c.w, http.StatusOK, map[string]any{
		"status": map[string]any{"code": 200, "description": "success"},
		"data": []map[string]any{{
			"accountId":           "5725767000000008002",
			"accountName":         "test.user",
			"primaryEmailAddress": "test.user@example.com",
		}},
	})
}

// Projects: GET /restapi/portals/, the portals of the token's user.

func listProjectsPortals(s *Server, c *call) {
	writeJSON(c.w, http.StatusOK, map[string]any{
		"portals": []map[string]any{{
			"id":        5725767000000100001,
			"id_string": "5725767000000100001",
			"name":      "test",
		}},
	})
}
