package server

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/switchboard-rtc/switchboard/mesh"
	"github.com/switchboard-rtc/switchboard/roster"
	"github.com/switchboard-rtc/switchboard/sfu"
	"github.com/switchboard-rtc/switchboard/webhook"
)

// transportNative is how a participant that named no transport connected (a mesh
// peer, an embedder's own transport): the native protocol.
const transportNative = "native"

// newWebhooks starts the webhook sender of cfg, nil without URLs. Events are signed
// with the secret of the API key cfg.Webhooks.KeyID names (empty: the first key in
// sorted order), unless cfg.Webhooks.Secret is set already; without API keys they
// go unsigned, with a warning.
func newWebhooks(cfg Config, log *slog.Logger) (*webhook.Sender, error) {
	wc := cfg.Webhooks
	if len(wc.URLs) == 0 {
		return nil, nil
	}
	if wc.Logger == nil {
		wc.Logger = log
	}
	if wc.Secret == "" && len(cfg.APIKeys) > 0 {
		if wc.KeyID == "" {
			keys := make([]string, 0, len(cfg.APIKeys))
			for k := range cfg.APIKeys {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			wc.KeyID = keys[0]
		}
		secret, ok := cfg.APIKeys[wc.KeyID]
		if !ok {
			return nil, fmt.Errorf("server: webhook key %q is not one of the API keys", wc.KeyID)
		}
		wc.Secret = secret
	}
	if wc.Secret == "" && wc.KeyID != "" {
		return nil, errors.New("server: a webhook key needs API keys")
	}
	sender, err := webhook.New(wc)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if !sender.Signed() {
		log.Warn("WEBHOOKS ARE UNSIGNED: the server has no API key, so a receiver cannot tell its events from forgeries; set an API key",
			"urls", len(wc.URLs))
	}
	return sender, nil
}

// sfuEvents turns the SFU rooms' events into webhooks.
type sfuEvents struct{ send *webhook.Sender }

func (e sfuEvents) event(t webhook.Type, room roster.RoomID) webhook.Event {
	return webhook.NewEvent(t, webhook.Room{Name: string(room), Kind: string(roster.SFU)})
}

func (e sfuEvents) RoomStarted(room roster.RoomID) { e.send.Send(e.event(webhook.RoomStarted, room)) }

func (e sfuEvents) RoomFinished(room roster.RoomID) { e.send.Send(e.event(webhook.RoomFinished, room)) }

func (e sfuEvents) ParticipantJoined(room roster.RoomID, p sfu.ParticipantInfo) {
	e.participant(webhook.ParticipantJoined, room, p)
}

func (e sfuEvents) ParticipantLeft(room roster.RoomID, p sfu.ParticipantInfo) {
	e.participant(webhook.ParticipantLeft, room, p)
}

func (e sfuEvents) participant(t webhook.Type, room roster.RoomID, p sfu.ParticipantInfo) {
	ev := e.event(t, room)
	ev.Participant = sfuParticipant(p)
	e.send.Send(ev)
}

func (e sfuEvents) TrackPublished(room roster.RoomID, p sfu.ParticipantInfo, t sfu.TrackInfo) {
	e.track(webhook.TrackPublished, room, p, t)
}

func (e sfuEvents) TrackUnpublished(room roster.RoomID, p sfu.ParticipantInfo, t sfu.TrackInfo) {
	e.track(webhook.TrackUnpublished, room, p, t)
}

func (e sfuEvents) track(typ webhook.Type, room roster.RoomID, p sfu.ParticipantInfo, t sfu.TrackInfo) {
	ev := e.event(typ, room)
	ev.Participant = sfuParticipant(p)
	ev.Track = &webhook.Track{ID: string(t.ID), Kind: t.Kind.String(), Source: string(t.Source)}
	e.send.Send(ev)
}

func sfuParticipant(p sfu.ParticipantInfo) *webhook.Participant {
	return hookParticipant(string(p.ID), p.Identity, p.Name, p.Transport)
}

// hookParticipant describes a participant of any kind of room to webhooks; an empty
// transport is the native protocol's.
func hookParticipant(id, identity, name, transport string) *webhook.Participant {
	return &webhook.Participant{ID: id, Identity: identity, Name: name, Transport: cmp.Or(transport, transportNative)}
}

// meshEvents turns the mesh rooms' events into webhooks.
type meshEvents struct{ send *webhook.Sender }

func (e meshEvents) event(t webhook.Type, room roster.RoomID) webhook.Event {
	return webhook.NewEvent(t, webhook.Room{Name: string(room), Kind: string(roster.Mesh)})
}

func (e meshEvents) RoomStarted(room roster.RoomID) { e.send.Send(e.event(webhook.RoomStarted, room)) }

func (e meshEvents) RoomFinished(room roster.RoomID) {
	e.send.Send(e.event(webhook.RoomFinished, room))
}

func (e meshEvents) ParticipantJoined(room roster.RoomID, p mesh.PeerInfo) {
	e.participant(webhook.ParticipantJoined, room, p)
}

func (e meshEvents) ParticipantLeft(room roster.RoomID, p mesh.PeerInfo) {
	e.participant(webhook.ParticipantLeft, room, p)
}

func (e meshEvents) participant(t webhook.Type, room roster.RoomID, p mesh.PeerInfo) {
	ev := e.event(t, room)
	ev.Participant = hookParticipant(string(p.ID), p.Identity, p.Name, "")
	e.send.Send(ev)
}

// WebhookStats counts the webhooks delivered, retried, failed and dropped so far;
// zero without webhooks.
func (s *Server) WebhookStats() webhook.Stats {
	if s.webhooks == nil {
		return webhook.Stats{}
	}
	return s.webhooks.Stats()
}
