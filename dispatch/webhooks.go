package dispatch

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/heraldmsg/herald"
)

// Webhooks returns the handler for every vendor's callbacks. Mount it at
// Config.PublicBaseURL's path (with http.StripPrefix when that path is not
// "/"): a vendor calls {PublicBaseURL}/{org}/{vendor}/{rest}, for example
// .../acme/twilio/status.
//
// For each request the handler finds the vendor (404 when it is unknown or
// takes no webhooks), reads at most Config.MaxWebhookBody bytes (413
// beyond), has the vendor verify and parse the request with the
// organization's secrets (403 when verification fails, or 401 with the
// vendor's challenge for a herald.ChallengeError; 400 when the request
// is malformed; nothing is recorded then), records every report and inbound
// message (500 when the store fails, so the vendor retries; duplicates are
// dropped), and answers what the vendor expects.
func (d *Dispatcher) Webhooks() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/{org}/{vendor}/{rest...}", d.serveWebhook)
	mux.HandleFunc("/{org}/{vendor}", d.serveWebhook)
	return mux
}

func (d *Dispatcher) serveWebhook(w http.ResponseWriter, r *http.Request) {
	orgID, vendorName := r.PathValue("org"), r.PathValue("vendor")
	v, ok := d.vendors[vendorName]
	wh, ok2 := v.(herald.WebhookHandler)
	if !ok || !ok2 || orgID == "" {
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, d.cfg.MaxWebhookBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read request body", http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	org, err := d.organization(ctx, orgID)
	if err != nil {
		d.logger.Error("webhook: loading organization", "org", orgID, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	rest := "/" + r.PathValue("rest")
	req := &herald.WebhookRequest{
		Organization: org, Method: r.Method, URL: d.publicURL(r, orgID, vendorName, rest),
		Path: rest, Header: r.Header, Body: body,
	}
	res, err := wh.ParseWebhook(ctx, req)
	switch {
	case errors.Is(err, herald.ErrUnauthorized):
		d.logger.Warn("webhook refused", "org", orgID, "vendor", vendorName, "err", err)
		if ch, ok := errors.AsType[*herald.ChallengeError](err); ok && ch.Challenge != "" {
			w.Header().Set("WWW-Authenticate", ch.Challenge)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	case errors.Is(err, herald.ErrInvalidInput):
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	case err != nil:
		d.logger.Error("webhook: parsing", "org", orgID, "vendor", vendorName, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var failed error
	for i := range res.Reports {
		rep := res.Reports[i]
		rep.OrgID, rep.Vendor = orgID, vendorName
		if err := d.HandleReport(ctx, &rep); err != nil && !onlyHookErrors(err) {
			failed = errors.Join(failed, err)
		}
	}
	for i := range res.Inbound {
		in := res.Inbound[i]
		in.OrgID, in.Vendor = orgID, vendorName
		if err := d.HandleInbound(ctx, &in); err != nil && !onlyHookErrors(err) {
			failed = errors.Join(failed, err)
		}
	}
	if failed != nil {
		d.logger.Error("webhook: recording events", "org", orgID, "vendor", vendorName, "err", failed)
		status := http.StatusInternalServerError
		if errors.Is(failed, herald.ErrInvalidInput) {
			status = http.StatusBadRequest
		}
		http.Error(w, http.StatusText(status), status)
		return
	}
	if res.ContentType != "" {
		w.Header().Set("Content-Type", res.ContentType)
	}
	status := res.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(res.Body)
}

// publicURL is the URL the vendor called, as it signed it.
func (d *Dispatcher) publicURL(r *http.Request, orgID, vendor, rest string) string {
	var b strings.Builder
	if d.cfg.PublicBaseURL != "" {
		b.WriteString(strings.TrimRight(d.cfg.PublicBaseURL, "/"))
		b.WriteString("/" + orgID + "/" + vendor)
		if rest != "/" {
			b.WriteString(rest)
		}
	} else {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		b.WriteString(scheme + "://" + r.Host + r.URL.Path)
	}
	if r.URL.RawQuery != "" {
		b.WriteString("?" + r.URL.RawQuery)
	}
	return b.String()
}
