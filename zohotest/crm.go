package zohotest

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// crmError is Zoho CRM's error object, fields in Zoho's order.
type crmError struct {
	Code    string `json:"code"`
	Details any    `json:"details"`
	Message string `json:"message"`
	Status  string `json:"status"`
}

func crmErr(code, message string, details any) crmError {
	if details == nil {
		details = struct{}{}
	}
	return crmError{Code: code, Details: details, Message: message, Status: "error"}
}

type paramDetails struct {
	ParamName string `json:"param_name"`
}

var (
	errInvalidURL   = crmErr("INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one", nil)
	errBadMethod    = crmErr("INVALID_REQUEST_METHOD", "The http request method type is not a valid one", nil)
	errInvalidData  = crmErr("INVALID_DATA", "invalid data", nil)
	errFieldsNeeded = crmErr("REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", paramDetails{"fields"})
)

// The user the fake's records are created by.
var crmUser = struct {
	Name string `json:"name"`
	ID   string `json:"id"`
}{"Test User", "5725767000000411001"}

// record is one CRM record: the fields a client sent plus Zoho's system
// fields (id, Created_Time, Modified_Time, Created_By, Modified_By).
type record struct {
	id     string
	fields map[string]json.RawMessage
}

// view returns the record's JSON with only the named fields and id, or
// every field when names is empty.
func (rec *record) view(names []string) json.RawMessage {
	if len(names) == 0 {
		return marshal(rec.fields)
	}
	out := map[string]json.RawMessage{"id": rec.fields["id"]}
	for _, n := range names {
		if v, ok := rec.fields[n]; ok {
			out[n] = v
		}
	}
	return marshal(out)
}

const (
	crmMaxPerPage = 200
	zohoTime      = "2006-01-02T15:04:05-07:00"
)

// serveCRM answers Zoho CRM's records API: list (GET /crm/v8/{Module}),
// get (GET /crm/v8/{Module}/{id}) and create (POST /crm/v8/{Module}).
func serveCRM(s *Server, c *call) {
	segs := strings.Split(strings.TrimPrefix(c.rest, "/"), "/")
	if !c.known || !strings.HasPrefix(c.rest, "/") || len(segs) > 2 || slices.Contains(segs, "") {
		writeJSON(c.w, http.StatusNotFound, errInvalidURL)
		return
	}
	module, id := segs[0], ""
	if len(segs) == 2 {
		id = segs[1]
	}
	method := c.r.Method
	if method != http.MethodGet && (method != http.MethodPost || id != "") {
		writeJSON(c.w, http.StatusBadRequest, errBadMethod)
		return
	}
	if !crmScopeAllows(c.scopes, module, method) {
		writeAnswer(c.w, c.product.noScope)
		return
	}
	if !s.spendCredit(c) {
		return
	}
	key := c.dc.location + "/" + strings.ToLower(module)
	switch {
	case method == http.MethodPost:
		s.createRecords(c, key)
	case id != "":
		s.getRecord(c, key, id)
	default:
		s.listRecords(c, key)
	}
}

// crmScopeAllows reports whether scopes let method reach module.
// ZohoCRM.modules.ALL (or .READ, ...) covers every module,
// ZohoCRM.modules.<module>.<operation> one module; GET needs ALL or READ,
// POST needs ALL, CREATE or WRITE. Comparison ignores case.
func crmScopeAllows(scopes []string, module, method string) bool {
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

// spendCredit takes one API credit of c's data center, or answers 429
// TOO_MANY_REQUESTS and reports false when none is left. While credits
// are limited, every answer carries Zoho's day-limit headers.
func (s *Server) spendCredit(c *call) bool {
	limit := s.opts.APICredits
	if limit <= 0 {
		return true
	}
	now := time.Now()
	window := s.opts.APICreditWindow
	s.mu.Lock()
	used := slices.DeleteFunc(s.credits[c.dc.location], func(t time.Time) bool { return !t.After(now.Add(-window)) })
	ok := len(used) < limit
	var wait time.Duration
	if ok {
		used = append(used, now)
	} else {
		wait = used[0].Add(window).Sub(now)
	}
	s.credits[c.dc.location] = used
	s.mu.Unlock()
	h := c.w.Header()
	h.Set("X-RATELIMIT-DAY-LIMIT", strconv.Itoa(limit))
	h.Set("X-RATELIMIT-DAY-REMAINING", strconv.Itoa(limit-len(used)))
	if !ok {
		writeJSON(c.w, http.StatusTooManyRequests, crmErr("TOO_MANY_REQUESTS",
			"Rate limit exceeded. Please retry after the specified time.",
			struct {
				RetryAfter int64 `json:"retry_after"`
				Limit      int   `json:"limit"`
				Window     int64 `json:"window"`
			}{ceilSeconds(wait), limit, ceilSeconds(window)}))
	}
	return ok
}

func ceilSeconds(d time.Duration) int64 {
	return int64(math.Ceil(d.Seconds()))
}

type listInfo struct {
	PerPage     int  `json:"per_page"`
	Count       int  `json:"count"`
	Page        int  `json:"page"`
	MoreRecords bool `json:"more_records"`
}

// listRecords answers one page of the module's records with the fields
// the client named: 400 without fields, 204 with no body when the page
// is empty.
func (s *Server) listRecords(c *call, key string) {
	q := c.r.URL.Query()
	names := fieldNames(q.Get("fields"))
	if len(names) == 0 {
		writeJSON(c.w, http.StatusBadRequest, errFieldsNeeded)
		return
	}
	page, ok1 := intParam(q.Get("page"), 1, math.MaxInt32)
	perPage, ok2 := intParam(q.Get("per_page"), crmMaxPerPage, crmMaxPerPage)
	if !ok1 || !ok2 {
		bad := "page"
		if ok1 {
			bad = "per_page"
		}
		writeJSON(c.w, http.StatusBadRequest, crmErr(errInvalidData.Code, errInvalidData.Message, paramDetails{bad}))
		return
	}
	s.mu.Lock()
	all := s.crm[key]
	from := len(all)
	if page-1 <= len(all)/perPage { // no overflow: (page-1)*perPage <= len(all)
		from = (page - 1) * perPage
	}
	to := min(from+perPage, len(all))
	data := make([]json.RawMessage, 0, to-from)
	for _, rec := range all[from:to] {
		data = append(data, rec.view(names))
	}
	more := to < len(all)
	s.mu.Unlock()
	if len(data) == 0 {
		c.w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(c.w, http.StatusOK, struct {
		Data []json.RawMessage `json:"data"`
		Info listInfo          `json:"info"`
	}{data, listInfo{PerPage: perPage, Count: len(data), Page: page, MoreRecords: more}})
}

// getRecord answers {"data":[record]}, or 204 for an unknown id.
func (s *Server) getRecord(c *call, key, id string) {
	names := fieldNames(c.r.URL.Query().Get("fields"))
	s.mu.Lock()
	var data json.RawMessage
	for _, rec := range s.crm[key] {
		if rec.id == id {
			data = rec.view(names)
			break
		}
	}
	s.mu.Unlock()
	if data == nil {
		c.w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(c.w, http.StatusOK, struct {
		Data []json.RawMessage `json:"data"`
	}{[]json.RawMessage{data}})
}

// fieldNames splits a fields parameter.
func fieldNames(v string) []string {
	var out []string
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// intParam reads a positive integer parameter at most hi; empty gives def.
func intParam(v string, def, hi int) (int, bool) {
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	return n, err == nil && n >= 1 && n <= hi
}

type createResult struct {
	Code    string         `json:"code"`
	Details createdDetails `json:"details"`
	Message string         `json:"message"`
	Status  string         `json:"status"`
}

// createdDetails is what Zoho answers about a created record: its id and
// system fields, not the record.
type createdDetails struct {
	ModifiedTime  string `json:"Modified_Time"`
	ModifiedBy    any    `json:"Modified_By"`
	CreatedTime   string `json:"Created_Time"`
	ID            string `json:"id"`
	CreatedBy     any    `json:"Created_By"`
	ApprovalState string `json:"$approval_state"`
}

// createRecords stores every record of {"data":[...]} with a new id and
// answers 201 with each record's id and system fields.
func (s *Server) createRecords(c *call, key string) {
	var in struct {
		Data []map[string]json.RawMessage `json:"data"`
	}
	err := json.NewDecoder(http.MaxBytesReader(c.w, c.r.Body, 8<<20)).Decode(&in)
	if err != nil || len(in.Data) == 0 || slices.ContainsFunc(in.Data, func(f map[string]json.RawMessage) bool { return f == nil }) {
		writeJSON(c.w, http.StatusBadRequest, errInvalidData)
		return
	}
	now := time.Now().UTC().Format(zohoTime)
	user := json.RawMessage(marshal(crmUser))
	results := make([]createResult, len(in.Data))
	s.mu.Lock()
	for i, fields := range in.Data {
		s.lastID++
		id := strconv.FormatInt(5725767000000400000+s.lastID, 10)
		fields["id"] = json.RawMessage(strconv.Quote(id))
		fields["Created_Time"] = json.RawMessage(strconv.Quote(now))
		fields["Modified_Time"] = fields["Created_Time"]
		fields["Created_By"], fields["Modified_By"] = user, user
		s.crm[key] = append(s.crm[key], &record{id: id, fields: fields})
		results[i] = createResult{
			Code:    "SUCCESS",
			Details: createdDetails{now, crmUser, now, id, crmUser, "approved"},
			Message: "record added",
			Status:  "success",
		}
	}
	s.mu.Unlock()
	writeJSON(c.w, http.StatusCreated, struct {
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
