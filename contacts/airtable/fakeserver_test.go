package airtable_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

// fakeAirtable is an httptest server that behaves like Airtable's REST API
// for one base: records listed in creation order with filterByFormula
// (the functions this package uses, evaluated for real), pageSize up to
// 100, maxRecords, offset pagination, view; get, create, update (PATCH
// merges fields) and delete; bearer-token auth; error bodies in
// Airtable's shapes; and the rate limit: more than 5 requests within one
// second answers 429, after which every request answers 429 for penalty.
type fakeAirtable struct {
	*httptest.Server
	base, table, token string
	penalty            time.Duration

	mu       sync.Mutex
	recs     []*fakeRec
	seq      int
	recent   []time.Time
	blocked  time.Time
	requests int
	limited  int
	formulas []string
}

type fakeRec struct {
	id       string
	created  time.Time
	modified time.Time
	fields   map[string]any
}

func newFakeAirtable(penalty time.Duration) *fakeAirtable {
	f := &fakeAirtable{base: "appTEST", table: "Customers", token: "patTEST", penalty: penalty}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

func (f *fakeAirtable) add(fields map[string]any) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addLocked(fields)
}

func (f *fakeAirtable) addLocked(fields map[string]any) string {
	f.seq++
	now := time.Now().UTC()
	r := &fakeRec{id: fmt.Sprintf("rec%014d", f.seq), created: now, modified: now, fields: fields}
	f.recs = append(f.recs, r)
	return r.id
}

func (f *fakeAirtable) stats() (requests, limited int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests, f.limited
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func errBody(typ, msg string) map[string]any {
	return map[string]any{"error": map[string]any{"type": typ, "message": msg}}
}

func (r *fakeRec) json() map[string]any {
	return map[string]any{"id": r.id, "createdTime": r.created.Format("2006-01-02T15:04:05.000Z"), "fields": r.fields}
}

func (f *fakeAirtable) serve(w http.ResponseWriter, req *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	now := time.Now()
	if now.Before(f.blocked) {
		f.limited++
		writeJSON(w, 429, map[string]any{"errors": []map[string]string{{"error": "RATE_LIMIT_REACHED", "message": "Rate limit exceeded. Please try again later"}}})
		return
	}
	keep := f.recent[:0]
	for _, t := range f.recent {
		if now.Sub(t) < time.Second {
			keep = append(keep, t)
		}
	}
	f.recent = keep
	if len(f.recent) >= 5 {
		// A refused request does not count toward the window.
		f.blocked = now.Add(f.penalty)
		f.limited++
		writeJSON(w, 429, map[string]any{"errors": []map[string]string{{"error": "RATE_LIMIT_REACHED", "message": "Rate limit exceeded. Please try again later"}}})
		return
	}
	f.recent = append(f.recent, now)
	if req.Header.Get("Authorization") != "Bearer "+f.token {
		writeJSON(w, 401, errBody("AUTHENTICATION_REQUIRED", "Authentication required"))
		return
	}
	prefix := "/v0/" + f.base + "/" + f.table
	path := req.URL.EscapedPath()
	if path != prefix && !strings.HasPrefix(path, prefix+"/") {
		writeJSON(w, 404, map[string]any{"error": "NOT_FOUND"})
		return
	}
	id := strings.TrimPrefix(strings.TrimPrefix(path, prefix), "/")
	switch {
	case id == "" && req.Method == http.MethodGet:
		f.list(w, req)
	case id == "" && req.Method == http.MethodPost:
		f.create(w, req)
	case id != "" && req.Method == http.MethodGet:
		if r := f.find(id); r != nil {
			writeJSON(w, 200, r.json())
			return
		}
		writeJSON(w, 404, errBody("MODEL_ID_NOT_FOUND", "Could not find a record with ID "+id))
	case id != "" && req.Method == http.MethodPatch:
		f.patch(w, req, id)
	case id != "" && req.Method == http.MethodDelete:
		for i, r := range f.recs {
			if r.id == id {
				f.recs = append(f.recs[:i], f.recs[i+1:]...)
				writeJSON(w, 200, map[string]any{"id": id, "deleted": true})
				return
			}
		}
		writeJSON(w, 404, errBody("MODEL_ID_NOT_FOUND", "Could not find a record with ID "+id))
	default:
		writeJSON(w, 404, map[string]any{"error": "NOT_FOUND"})
	}
}

func (f *fakeAirtable) find(id string) *fakeRec {
	for _, r := range f.recs {
		if r.id == id {
			return r
		}
	}
	return nil
}

func (f *fakeAirtable) list(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	size := 100
	if s := q.Get("pageSize"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			writeJSON(w, 422, errBody("INVALID_PAGE_SIZE", "pageSize must be 1 to 100"))
			return
		}
		size = n
	}
	if v := q.Get("view"); v != "" && v != "Grid view" {
		writeJSON(w, 422, errBody("VIEW_NAME_NOT_FOUND", "Could not find view"))
		return
	}
	var match func(*fakeRec) (any, error)
	if s := q.Get("filterByFormula"); s != "" {
		f.formulas = append(f.formulas, s)
		p := &formulaParser{s: s}
		expr, err := p.parse()
		if err != nil {
			writeJSON(w, 422, errBody("INVALID_FILTER_BY_FORMULA", "The formula for filtering records is invalid: "+err.Error()))
			return
		}
		match = expr
	}
	var all []*fakeRec
	for _, r := range f.recs {
		if match != nil {
			v, err := match(r)
			if err != nil {
				writeJSON(w, 422, errBody("INVALID_FILTER_BY_FORMULA", err.Error()))
				return
			}
			if !truthy(v) {
				continue
			}
		}
		all = append(all, r)
	}
	if s := q.Get("maxRecords"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n < len(all) {
			all = all[:n]
		}
	}
	start := 0
	if off := q.Get("offset"); off != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(off, "itrFAKE/"))
		if err != nil || !strings.HasPrefix(off, "itrFAKE/") || n > len(all) {
			writeJSON(w, 422, errBody("LIST_RECORDS_ITERATOR_NOT_AVAILABLE", "iterator not available"))
			return
		}
		start = n
	}
	end := min(start+size, len(all))
	out := map[string]any{}
	recs := []any{}
	for _, r := range all[start:end] {
		recs = append(recs, r.json())
	}
	out["records"] = recs
	if end < len(all) {
		out["offset"] = "itrFAKE/" + strconv.Itoa(end)
	}
	writeJSON(w, 200, out)
}

func (f *fakeAirtable) create(w http.ResponseWriter, req *http.Request) {
	var body struct {
		Records []struct {
			Fields map[string]any `json:"fields"`
		} `json:"records"`
	}
	if err := json.NewDecoder(req.Body).Decode(&body); err != nil || len(body.Records) == 0 || len(body.Records) > 10 {
		writeJSON(w, 422, errBody("INVALID_REQUEST_UNKNOWN", "Invalid request: parameter validation failed"))
		return
	}
	var out []any
	for _, r := range body.Records {
		id := f.addLocked(r.Fields)
		out = append(out, f.find(id).json())
	}
	writeJSON(w, 200, map[string]any{"records": out})
}

func (f *fakeAirtable) patch(w http.ResponseWriter, req *http.Request, id string) {
	r := f.find(id)
	if r == nil {
		writeJSON(w, 404, errBody("MODEL_ID_NOT_FOUND", "Could not find a record with ID "+id))
		return
	}
	var body struct {
		Fields map[string]any `json:"fields"`
	}
	if err := json.NewDecoder(req.Body).Decode(&body); err != nil {
		writeJSON(w, 422, errBody("INVALID_REQUEST_UNKNOWN", "Invalid request"))
		return
	}
	for k, v := range body.Fields {
		r.fields[k] = v
	}
	r.modified = time.Now().UTC()
	writeJSON(w, 200, r.json())
}

func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return x != ""
	case time.Time:
		return !x.IsZero()
	}
	return v != nil
}

// formulaParser reads the subset of Airtable's formula language the client
// writes: {field}, string literals in single or double quotes with
// backslash escapes, '=', AND, OR, NOT, IS_BEFORE, DATETIME_PARSE,
// LAST_MODIFIED_TIME() and TRUE(). Anything else is an invalid formula.
type formulaParser struct {
	s string
	i int
}

type evalFn func(*fakeRec) (any, error)

func (p *formulaParser) parse() (evalFn, error) {
	e, err := p.expr()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.s) {
		return nil, fmt.Errorf("unexpected text at %d", p.i)
	}
	return e, nil
}

func (p *formulaParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\n' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *formulaParser) expr() (evalFn, error) {
	left, err := p.operand()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i < len(p.s) && p.s[p.i] == '=' {
		p.i++
		right, err := p.operand()
		if err != nil {
			return nil, err
		}
		return func(r *fakeRec) (any, error) {
			a, err := left(r)
			if err != nil {
				return nil, err
			}
			b, err := right(r)
			if err != nil {
				return nil, err
			}
			return fmt.Sprint(a) == fmt.Sprint(b), nil
		}, nil
	}
	return left, nil
}

func (p *formulaParser) operand() (evalFn, error) {
	p.space()
	if p.i >= len(p.s) {
		return nil, fmt.Errorf("unexpected end")
	}
	switch c := p.s[p.i]; {
	case c == '{':
		end := strings.IndexByte(p.s[p.i:], '}')
		if end < 0 {
			return nil, fmt.Errorf("unclosed field reference")
		}
		name := p.s[p.i+1 : p.i+end]
		p.i += end + 1
		return func(r *fakeRec) (any, error) {
			v := r.fields[name]
			if v == nil {
				return "", nil
			}
			return v, nil
		}, nil
	case c == '"' || c == '\'':
		p.i++
		var b strings.Builder
		for {
			if p.i >= len(p.s) {
				return nil, fmt.Errorf("unterminated string")
			}
			ch := p.s[p.i]
			if ch == '\\' && p.i+1 < len(p.s) {
				switch n := p.s[p.i+1]; n {
				case 'n':
					b.WriteByte('\n')
				case 't':
					b.WriteByte('\t')
				case 'r':
					b.WriteByte('\r')
				default:
					b.WriteByte(n)
				}
				p.i += 2
				continue
			}
			p.i++
			if ch == c {
				break
			}
			b.WriteByte(ch)
		}
		s := b.String()
		return func(*fakeRec) (any, error) { return s, nil }, nil
	case unicode.IsLetter(rune(c)):
		start := p.i
		for p.i < len(p.s) && (p.s[p.i] == '_' || unicode.IsLetter(rune(p.s[p.i]))) {
			p.i++
		}
		name := p.s[start:p.i]
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != '(' {
			return nil, fmt.Errorf("unknown name %s", name)
		}
		p.i++
		var args []evalFn
		p.space()
		if p.i < len(p.s) && p.s[p.i] == ')' {
			p.i++
		} else {
			for {
				a, err := p.expr()
				if err != nil {
					return nil, err
				}
				args = append(args, a)
				p.space()
				if p.i >= len(p.s) {
					return nil, fmt.Errorf("unclosed call")
				}
				if p.s[p.i] == ',' {
					p.i++
					continue
				}
				if p.s[p.i] == ')' {
					p.i++
					break
				}
				return nil, fmt.Errorf("unexpected %q", p.s[p.i])
			}
		}
		return call(name, args)
	}
	return nil, fmt.Errorf("unexpected %q at %d", p.s[p.i], p.i)
}

func call(name string, args []evalFn) (evalFn, error) {
	n := len(args)
	bad := func() (evalFn, error) { return nil, fmt.Errorf("wrong arguments to %s", name) }
	switch name {
	case "TRUE":
		return func(*fakeRec) (any, error) { return true, nil }, nil
	case "LAST_MODIFIED_TIME":
		if n != 0 {
			return bad()
		}
		return func(r *fakeRec) (any, error) { return r.modified, nil }, nil
	case "DATETIME_PARSE":
		if n != 1 {
			return bad()
		}
		return func(r *fakeRec) (any, error) {
			v, err := args[0](r)
			if err != nil {
				return nil, err
			}
			t, err := time.Parse(time.RFC3339Nano, fmt.Sprint(v))
			if err != nil {
				return nil, fmt.Errorf("cannot parse date")
			}
			return t, nil
		}, nil
	case "IS_BEFORE":
		if n != 2 {
			return bad()
		}
		return func(r *fakeRec) (any, error) {
			a, err := args[0](r)
			if err != nil {
				return nil, err
			}
			b, err := args[1](r)
			if err != nil {
				return nil, err
			}
			ta, ok1 := a.(time.Time)
			tb, ok2 := b.(time.Time)
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("IS_BEFORE needs dates")
			}
			return ta.Before(tb), nil
		}, nil
	case "NOT":
		if n != 1 {
			return bad()
		}
		return func(r *fakeRec) (any, error) {
			v, err := args[0](r)
			return !truthy(v), err
		}, nil
	case "AND", "OR":
		if n == 0 {
			return bad()
		}
		return func(r *fakeRec) (any, error) {
			for _, a := range args {
				v, err := a(r)
				if err != nil {
					return nil, err
				}
				if truthy(v) != (name == "AND") {
					return name == "OR", nil
				}
			}
			return name == "AND", nil
		}, nil
	}
	return nil, fmt.Errorf("unknown function %s", name)
}
