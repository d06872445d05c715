package sfu

import "github.com/pion/webrtc/v4"

// Which publisher a Viewer receives: the rules of the Viewer doc comment, run on the
// room's operation queue whenever membership or publications change.

// retarget points every viewer at the tracks it should receive now.
func (r *Room) retarget() {
	for _, v := range r.viewers {
		r.retargetViewer(v)
	}
}

func (r *Room) retargetViewer(v *Viewer) {
	var audio, video *Track
	if m := r.source(v.want); m != nil {
		audio, video = pickAV(m.tracks)
	}
	v.audio.switchTo(audio)
	v.video.switchTo(video)
}

// source is the member a viewer of want receives: want itself, or the earliest
// joined member that publishes anything.
func (r *Room) source(want ParticipantID) *member {
	if want != "" {
		return r.find(want)
	}
	for m := range r.members.All() {
		if len(m.tracks) > 0 {
			return m
		}
	}
	return nil
}

// pickAV chooses one audio and one video track of tracks: the microphone and camera
// when present, else the first of each kind.
func pickAV(tracks []*Track) (audio, video *Track) {
	for _, t := range tracks {
		switch {
		case t.info.Kind == webrtc.RTPCodecTypeAudio && (audio == nil || t.info.Source == SourceMicrophone && audio.info.Source != SourceMicrophone):
			audio = t
		case t.info.Kind == webrtc.RTPCodecTypeVideo && (video == nil || t.info.Source == SourceCamera && video.info.Source != SourceCamera):
			video = t
		}
	}
	return audio, video
}
