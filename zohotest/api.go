package zohotest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// apiError is Zoho CRM's error object.
type apiError struct {
	Code    string   `json:"code"`
	Details struct{} `json:"details"`
	Message string   `json:"message"`
	Status  string   `json:"status"`
}

var (
	errInvalidToken  = apiError{Code: "INVALID_TOKEN", Message: "invalid oauth token", Status: "error"}
	errScopeMismatch = apiError{Code: "OAUTH_SCOPE_MISMATCH", Message: "invalid oauth scope to access this URL", Status: "error"}
	errInvalidURL    = apiError{Code: "INVALID_URL_PATTERN", Message: "Please check if the URL trying to access is a correct one", Status: "error"}
	errBadMethod     = apiError{Code: "INVALID_REQUEST_METHOD", Message: "The http request method type is not a valid one", Status: "error"}
	errInvalidData   = apiError{Code: "INVALID_DATA", Message: "the input data is invalid", Status: "error"}
)

// serveAPI answers the CRM API: GET and POST /crm/v8/{Module}.
func (s *Server) serveAPI(d *dataCenter, w http.ResponseWriter, r *http.Request) {
	header := r.Header.Get("Authorization")
	now := time.Now()
	s.mu.Lock()
	s.stats.APICalls++
	s.stats.AuthHeaders = append(s.stats.AuthHeaders, header)
	var scopes []string
	at := s.access[bearer(header)]
	valid := at != nil && at.location == d.location && at.alive(now)
	if valid {
		scopes = at.scopes
	} else {
		s.stats.Unauthorized++
	}
	s.mu.Unlock()
	if !valid {
		writeJSON(w, http.StatusUnauthorized, errInvalidToken)
		return
	}

	module, ok := strings.CutPrefix(r.URL.Path, "/crm/v8/")
	if !ok || module == "" || strings.Contains(module, "/") {
		writeJSON(w, http.StatusNotFound, errInvalidURL)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, errBadMethod)
		return
	}
	if !scopeAllows(scopes, module, r.Method) {
		s.mu.Lock()
		s.stats.Unauthorized++
		s.mu.Unlock()
		writeJSON(w, http.StatusUnauthorized, errScopeMismatch)
		return
	}
	key := d.location + "/" + strings.ToLower(module)
	if r.Method == http.MethodGet {
		s.listRecords(w, key)
	} else {
		s.createRecords(w, r, key)
	}
}

// bearer returns the token of an "Authorization: Zoho-oauthtoken <token>"
// or "Bearer <token>" header, or "".
func bearer(header string) string {
	scheme, token, _ := strings.Cut(header, " ")
	if strings.EqualFold(scheme, "Zoho-oauthtoken") || strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(token)
	}
	return ""
}

// scopeAllows reports whether scopes let method reach module.
// ZohoCRM.modules.ALL (or .READ, ...) covers every module,
// ZohoCRM.modules.<module>.<operation> one module; GET needs ALL or READ,
// POST needs ALL, CREATE or WRITE. Comparison ignores case.
func scopeAllows(scopes []string, module, method string) bool {
	ops := []string{"all", "read"}
	if method == http.MethodPost {
		ops = []string{"all", "create", "write"}
	}
	module = strings.ToLower(module)
	for _, sc := range scopes {
		parts := strings.Split(strings.ToLower(sc), ".")
		if len(parts) < 3 || parts[0] != "zohocrm" || parts[1] != "modules" {
			continue
		}
		var m, op string
		switch len(parts) {
		case 3:
			op = parts[2]
		case 4:
			m, op = parts[2], parts[3]
		default:
			continue
		}
		if (m == "" || m == module) && slices.Contains(ops, op) {
			return true
		}
	}
	return false
}

type listInfo struct {
	PerPage     int  `json:"per_page"`
	Count       int  `json:"count"`
	Page        int  `json:"page"`
	MoreRecords bool `json:"more_records"`
}

func (s *Server) listRecords(w http.ResponseWriter, key string) {
	s.mu.Lock()
	data := append([]json.RawMessage{}, s.records[key]...)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, struct {
		Data []json.RawMessage `json:"data"`
		Info listInfo          `json:"info"`
	}{data, listInfo{PerPage: 200, Count: len(data), Page: 1}})
}

type createResult struct {
	Code    string          `json:"code"`
	Details json.RawMessage `json:"details"`
	Message string          `json:"message"`
	Status  string          `json:"status"`
}

// createRecords stores every record of {"data":[...]} with a new id and
// answers with each stored record as details.
func (s *Server) createRecords(w http.ResponseWriter, r *http.Request, key string) {
	var in struct {
		Data []map[string]json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<20)).Decode(&in); err != nil || len(in.Data) == 0 {
		writeJSON(w, http.StatusBadRequest, errInvalidData)
		return
	}
	for _, rec := range in.Data {
		if rec == nil {
			writeJSON(w, http.StatusBadRequest, errInvalidData)
			return
		}
	}
	results := make([]createResult, len(in.Data))
	s.mu.Lock()
	for i, rec := range in.Data {
		s.lastID++
		rec["id"] = json.RawMessage(strconv.Quote(strconv.FormatInt(5725767000000400000+s.lastID, 10)))
		stored := json.RawMessage(marshal(rec))
		s.records[key] = append(s.records[key], stored)
		results[i] = createResult{Code: "SUCCESS", Details: stored, Message: "record added", Status: "success"}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, struct {
		Data []createResult `json:"data"`
	}{results})
}

// marshal encodes v as compact JSON without escaping <, > and &, so that
// values come back as they were sent.
func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("zohotest: encoding a response: " + err.Error()) // only fixed, encodable types get here
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body := marshal(v)
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	w.Write(body)
}
