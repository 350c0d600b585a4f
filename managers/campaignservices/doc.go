// Package campaignservices is the per-campaign-messageservices service
// manager: each campaign gets its own vendor-side sender pool (a Twilio
// Messaging Service, for example) holding numbers reserved for it in the
// contacts' area codes, so that a campaign is not capped by one
// organization-wide pool and texts its contacts from local numbers.
//
// # What it does, hook by hook
//
//   - OnCampaignUpdate, on a draft campaign: {"reserve": true} reserves
//     numbers for the campaign from the organization's free numbers at its
//     vendor (herald.NumberStore.AllocateNumbers, AllocatedTo
//     herald.AllocationCampaign, AllocatedToID the campaign's ID): in each
//     area code of the contacts, one number per ContactsPerNumber contacts,
//     rounded up. {"areaCodeCounts": {"415": 3, "20": 1}} reserves exactly
//     those counts instead. A reservation replaces the previous one, all or
//     nothing: when an area lacks free numbers nothing changes and the
//     error says which areas are short. Area codes come from package
//     contacts (the national destination code, for every country).
//   - CampaignData: reports contacts, numbers needed (contacts divided by
//     ContactsPerNumber, rounded up), numbers reserved, and per area code
//     the contacts, the reserved and the free numbers; FullyConfigured is
//     true when the campaign's service exists or enough numbers are
//     reserved, and the vendor can create messaging services. Unarchivable
//     is false once the campaign's numbers were released (and true
//     otherwise): false means "do not unarchive", never the inverse.
//   - OnCampaignStart: creates the campaign's messaging service through the
//     vendor's [herald.MessagingServices], adds the reserved numbers, and
//     sets Campaign.MessagingServiceID (the dispatcher saves it with the
//     started state). It is idempotent: the service's ID is written to
//     State as soon as the vendor returns it, so a start that is repeated
//     (a later manager refused the first, the store write failed, two
//     starts raced) reuses the service instead of creating a second. A
//     start that died between the vendor's create and that write leaves
//     no ID: the next start looks the service up by its friendly name
//     when the vendor implements [herald.MessagingServiceFinder] (Twilio
//     and the fake do) and adopts it, else it warns that one may be left
//     at the vendor and creates another. When
//     adding the numbers fails, the service is deleted again and the start
//     refused. A vendor without herald.MessagingServices refuses the start
//     (herald.ErrUnsupported).
//   - OnMessageSend: a message of a campaign with a MessagingServiceID is
//     routed through it (Route.MessagingServiceID), unless an earlier
//     manager already chose a service. Route.From is left alone.
//   - Releasing, after archive: {"releaseNumbers": true} on an archived
//     campaign deletes the campaign's messaging service (or, with
//     CAMPAIGN_PHONES_RETAIN_MESSAGING_SERVICES, empties it), returns the
//     numbers to the organization's free pool, and clears the campaign's
//     MessagingServiceID. With Options.ReleaseOnArchive (or the
//     organization feature CAMPAIGN_PHONES_RELEASE_ON_ARCHIVE) this
//     happens in OnCampaignArchive instead. From then on the campaign is
//     not unarchivable (CampaignData, and OnCampaignUnarchive refuses).
//   - OnVendorFullyConfigured and OnBuyNumbers tell the vendor that
//     campaigns bring their own services (Data / Options key
//     "skipOrgMessageService" = "true"), as Spoke's manager does.
//
// # Configuration
//
// Organization features (each overrides the [Options] field):
//
//   - CONTACTS_PER_PHONE_NUMBER ([FeatureContactsPerNumber]): contacts per
//     reserved number, default 200.
//   - CAMPAIGN_PHONES_RETAIN_MESSAGING_SERVICES ([FeatureRetainServices]):
//     "true" empties a campaign's service on release instead of deleting
//     it.
//   - CAMPAIGN_PHONES_RELEASE_ON_ARCHIVE ([FeatureReleaseOnArchive]):
//     "true" releases a campaign's numbers when it is archived.
//
// Options also caps a campaign's numbers (MaxNumbersPerService, 400 by
// default: Twilio's limit per Messaging Service) and may give the webhook
// URLs a new service is created with (CallbackURLs).
//
// # State
//
// The manager keeps one record per campaign in its State
// ("campaign/" + ID): the service ID and where the campaign is (creating,
// created, ready, releasing, released). A record stuck in "creating" (the
// process died while the vendor created the service) is taken over after
// Options.CreatingTimeout, and a warning names the friendly name of the
// service that may have been left at the vendor: herald.MessagingServices
// has no way to list services, so such a service cannot be found again by
// the manager.
//
// # Cost
//
// MoneySpendingOperations: OnCampaignStart (creating a service and
// assigning numbers to it; numbers themselves are bought through
// dispatch.Dispatcher.BuyNumbers, not here). Reserving and releasing cost
// nothing at the vendor: released numbers go back to the organization's
// free pool and keep their monthly fee until the host gives them back to
// the vendor.
//
// # Order
//
// Run it after any manager that picks a messaging service for other
// reasons. Enable scrub-bad-mobilenums too and reserve after scrubbing,
// so that numbers are reserved for the contacts that remain. Number
// pickers (numpicker) never choose a number reserved here, since they use
// unallocated numbers only.
package campaignservices
