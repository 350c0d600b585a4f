package twilio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/vendorhttp"
)

// ConsoleServiceURL is the prefix of a messaging service's page in the
// Twilio console; the service SID follows it.
const ConsoleServiceURL = "https://console.twilio.com/us1/develop/sms/services/"

type service struct {
	SID          string `json:"sid"`
	FriendlyName string `json:"friendly_name"`
}

type serviceNumber struct {
	SID         string `json:"sid"`
	PhoneNumber string `json:"phone_number"`
	CountryCode string `json:"country_code"`
}

// CreateMessagingService creates a Messaging Service whose status callback
// and inbound request URL (POST) are p's.
func (v *Vendor) CreateMessagingService(ctx context.Context, p herald.CreateMessagingServiceParams) (*herald.MessagingService, error) {
	if p.FriendlyName == "" {
		return nil, fmt.Errorf("twilio: messaging service needs a friendly name: %w", herald.ErrInvalidInput)
	}
	creds := v.credentials(p.Organization, nil)
	form := url.Values{"FriendlyName": {p.FriendlyName}}
	if p.StatusCallbackURL != "" {
		form.Set("StatusCallback", p.StatusCallbackURL)
	}
	if p.InboundURL != "" {
		form.Set("InboundRequestUrl", p.InboundURL)
		form.Set("InboundMethod", http.MethodPost)
	}
	var s service
	if _, err := v.do(ctx, call{method: http.MethodPost, url: v.msgBase + "/v1/Services", form: form, creds: creds, out: &s}); err != nil {
		return nil, fmt.Errorf("twilio: creating messaging service: %w", err)
	}
	if s.SID == "" {
		return nil, &herald.VendorError{Vendor: v.name, Class: herald.ClassPermanent, Message: "Twilio created a messaging service without a SID"}
	}
	return &herald.MessagingService{ID: s.SID, FriendlyName: s.FriendlyName, ConsoleURL: ConsoleServiceURL + s.SID}, nil
}

// DeleteMessagingService deletes the service; one Twilio no longer has
// counts as deleted.
func (v *Vendor) DeleteMessagingService(ctx context.Context, org *herald.Organization, id string) error {
	if id == "" {
		return fmt.Errorf("twilio: delete messaging service: no SID: %w", herald.ErrInvalidInput)
	}
	creds := v.credentials(org, nil)
	status, err := v.do(ctx, call{method: http.MethodDelete, url: v.msgBase + "/v1/Services/" + url.PathEscape(id), creds: creds})
	if err != nil && status != http.StatusNotFound {
		return fmt.Errorf("twilio: deleting messaging service: %w", err)
	}
	return nil
}

// AddNumbersToMessagingService adds owned numbers (by VendorID, the PN SID)
// to the service; a number already in it (21710) is fine.
func (v *Vendor) AddNumbersToMessagingService(ctx context.Context, org *herald.Organization, id string, numbers []herald.OwnedNumber) error {
	if id == "" {
		return fmt.Errorf("twilio: add numbers: no messaging service SID: %w", herald.ErrInvalidInput)
	}
	creds := v.credentials(org, nil)
	var errs []error
	for _, n := range numbers {
		if n.VendorID == "" {
			errs = append(errs, fmt.Errorf("twilio: number %s has no VendorID: %w", vendorhttp.MaskNumber(n.Number), herald.ErrInvalidInput))
			continue
		}
		if err := v.addNumber(ctx, creds, id, n.VendorID); err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
		}
	}
	return errors.Join(errs...)
}

func (v *Vendor) addNumber(ctx context.Context, creds Credentials, service, sid string) error {
	_, err := v.do(ctx, call{method: http.MethodPost, url: v.msgBase + "/v1/Services/" + url.PathEscape(service) + "/PhoneNumbers",
		form: url.Values{"PhoneNumberSid": {sid}}, creds: creds})
	if herald.CodeOf(err) == "21710" {
		return nil
	}
	if err != nil {
		return fmt.Errorf("twilio: adding %s to %s: %w", sid, service, err)
	}
	return nil
}

// serviceNumbers lists a service's numbers, following meta.next_page_url.
func (v *Vendor) serviceNumbers(ctx context.Context, creds Credentials, service string) ([]serviceNumber, error) {
	var all []serviceNumber
	next := v.msgBase + "/v1/Services/" + url.PathEscape(service) + "/PhoneNumbers?PageSize=1000"
	for pages := 0; next != "" && pages < 1000; pages++ {
		var page struct {
			Numbers []serviceNumber `json:"phone_numbers"`
			Meta    struct {
				NextPageURL *string `json:"next_page_url"`
			} `json:"meta"`
		}
		if _, err := v.do(ctx, call{method: http.MethodGet, url: next, creds: creds, out: &page}); err != nil {
			return nil, fmt.Errorf("twilio: listing messaging service numbers: %w", err)
		}
		all = append(all, page.Numbers...)
		next = ""
		if page.Meta.NextPageURL != nil {
			next = *page.Meta.NextPageURL
		}
	}
	return all, nil
}

// eachService calls fn with each of the account's messaging services,
// following meta.next_page_url, until fn says stop.
func (v *Vendor) eachService(ctx context.Context, creds Credentials, fn func(service) (stop bool, err error)) error {
	next := v.msgBase + "/v1/Services?PageSize=1000"
	for pages := 0; next != "" && pages < 1000; pages++ {
		var page struct {
			Services []service `json:"services"`
			Meta     struct {
				NextPageURL *string `json:"next_page_url"`
			} `json:"meta"`
		}
		if _, err := v.do(ctx, call{method: http.MethodGet, url: next, creds: creds, out: &page}); err != nil {
			return fmt.Errorf("twilio: listing messaging services: %w", err)
		}
		for _, s := range page.Services {
			if stop, err := fn(s); stop || err != nil {
				return err
			}
		}
		next = ""
		if page.Meta.NextPageURL != nil {
			next = *page.Meta.NextPageURL
		}
	}
	return nil
}

// numbersInServices returns the PN SIDs of numbers in any of the account's
// messaging services.
func (v *Vendor) numbersInServices(ctx context.Context, creds Credentials) (map[string]bool, error) {
	in := map[string]bool{}
	err := v.eachService(ctx, creds, func(s service) (bool, error) {
		nums, err := v.serviceNumbers(ctx, creds, s.SID)
		for _, n := range nums {
			in[n.SID] = true
		}
		return false, err
	})
	if err != nil {
		return nil, err
	}
	return in, nil
}

// FindMessagingService returns the account's first messaging service (in
// Twilio's list order) whose friendly name is friendlyName;
// herald.ErrNotFound when there is none.
func (v *Vendor) FindMessagingService(ctx context.Context, org *herald.Organization, friendlyName string) (*herald.MessagingService, error) {
	if friendlyName == "" {
		return nil, fmt.Errorf("twilio: find messaging service: no friendly name: %w", herald.ErrInvalidInput)
	}
	var found *service
	err := v.eachService(ctx, v.credentials(org, nil), func(s service) (bool, error) {
		if s.FriendlyName == friendlyName {
			found = &s
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, fmt.Errorf("twilio: no messaging service named %q: %w", friendlyName, herald.ErrNotFound)
	}
	return &herald.MessagingService{ID: found.SID, FriendlyName: found.FriendlyName, ConsoleURL: ConsoleServiceURL + found.SID}, nil
}

// ClearMessagingServiceNumbers removes every number from the service,
// listing and removing up to five times (500 ms apart) while numbers
// remain, as Twilio's list can lag behind removals.
func (v *Vendor) ClearMessagingServiceNumbers(ctx context.Context, org *herald.Organization, id string) error {
	if id == "" {
		return fmt.Errorf("twilio: clear numbers: no messaging service SID: %w", herald.ErrInvalidInput)
	}
	creds := v.credentials(org, nil)
	var lastErr error
	for attempt := range 5 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return errors.Join(lastErr, ctx.Err())
			case <-time.After(500 * time.Millisecond):
			}
		}
		nums, err := v.serviceNumbers(ctx, creds, id)
		if err != nil {
			lastErr = err
			continue
		}
		if len(nums) == 0 {
			return nil
		}
		lastErr = nil
		for _, n := range nums {
			status, err := v.do(ctx, call{method: http.MethodDelete,
				url: v.msgBase + "/v1/Services/" + url.PathEscape(id) + "/PhoneNumbers/" + url.PathEscape(n.SID), creds: creds})
			if err != nil && status != http.StatusNotFound {
				lastErr = errors.Join(lastErr, fmt.Errorf("twilio: removing %s from %s: %w", n.SID, id, err))
			}
		}
	}
	if lastErr == nil {
		lastErr = fmt.Errorf("twilio: messaging service %s still has numbers after 5 attempts", id)
	}
	return lastErr
}
