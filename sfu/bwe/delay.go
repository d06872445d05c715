package bwe

import "math"

// Delay-based congestion detection, as in Google Congestion Control
// (draft-ietf-rmcat-gcc-02, section 5): packets sent within a burst form a group;
// the growth of each group's one-way delay over the previous one's (arrival gap less
// send gap) accumulates into a delay curve, smoothed; the slope of its last points,
// scaled, is the trend, compared to a threshold that adapts to the trend's own
// noise. A trend over the threshold for long enough, and still rising, is overuse:
// a queue is building on the path.
const (
	burstMicros       = 5_000 // packets sent within 5 ms of a group's first belong to it
	trendWindow       = 20    // points of the delay curve the slope is taken over
	smoothing         = 0.9   // of the delay curve
	trendGain         = 4.0
	maxTrendDeltas    = 60    // the trend's scale stops growing after this many groups
	overuseTimeMillis = 10.0  // over the threshold at least this long
	thresholdStart    = 12.5  // milliseconds
	thresholdMin      = 6.0   // milliseconds
	thresholdMax      = 600.0 // milliseconds
	thresholdUp       = 0.0087
	thresholdDown     = 0.039
	thresholdMaxStep  = 100.0 // milliseconds of elapsed time one adaptation counts at most
	thresholdOutlier  = 15.0  // a trend this far over the threshold does not move it
)

// usage is what the delay trend says of the path.
type usage int

const (
	usageNormal usage = iota
	usageOver
	usageUnder
)

// group is a burst of packets: when its first and last were sent, and when its
// last arrived.
type group struct {
	firstSent, lastSent, lastArrived int64 // microseconds
	started                          bool
}

// delayDetector reads packets in the order they were sent and tells the path's
// usage. Its zero value is not ready: newDelayDetector.
type delayDetector struct {
	cur, prev group

	deltas      int     // groups compared so far
	accumulated float64 // milliseconds of delay grown since the start
	smoothed    float64
	points      [trendWindow]struct{ x, y float64 } // a ring: arrival (ms), smoothed delay
	npoints     int
	firstArrive int64 // microseconds: the curve's x origin

	threshold   float64
	lastAdapted int64 // microseconds, arrival time of the last adaptation; 0: none
	overMillis  float64
	overCount   int
	prevTrend   float64
	state       usage
}

func newDelayDetector() delayDetector {
	return delayDetector{threshold: thresholdStart}
}

// packet reads one received packet, sent and arrived in microseconds, and returns
// the usage after it.
func (d *delayDetector) packet(sent, arrived int64) usage {
	if !d.cur.started {
		d.cur = group{firstSent: sent, lastSent: sent, lastArrived: arrived, started: true}
		return d.state
	}
	if sent < d.cur.firstSent {
		return d.state // reordered before the group: its delay says nothing new
	}
	if sent-d.cur.firstSent <= burstMicros {
		d.cur.lastSent = max(d.cur.lastSent, sent)
		d.cur.lastArrived = max(d.cur.lastArrived, arrived)
		return d.state
	}
	if d.prev.started {
		sendGap := float64(d.cur.lastSent-d.prev.lastSent) / 1000
		arriveGap := float64(d.cur.lastArrived-d.prev.lastArrived) / 1000
		d.update(arriveGap-sendGap, sendGap, d.cur.lastArrived)
	}
	d.prev = d.cur
	d.cur = group{firstSent: sent, lastSent: sent, lastArrived: arrived, started: true}
	return d.state
}

// update adds one group's delay growth (milliseconds) to the curve and detects.
func (d *delayDetector) update(delta, sendGap float64, arrived int64) {
	if d.npoints == 0 && d.deltas == 0 {
		d.firstArrive = arrived
	}
	d.deltas = min(d.deltas+1, maxTrendDeltas)
	d.accumulated += delta
	d.smoothed = smoothing*d.smoothed + (1-smoothing)*d.accumulated
	d.points[d.npoints%trendWindow] = struct{ x, y float64 }{float64(arrived-d.firstArrive) / 1000, d.smoothed}
	d.npoints++
	trend := d.prevTrend
	if d.npoints >= trendWindow {
		trend = slope(d.points[:])
	}
	d.detect(trend, sendGap, arrived)
	d.prevTrend = trend
}

// detect compares the trend, scaled, with the threshold, then adapts the threshold.
func (d *delayDetector) detect(trend, sendGap float64, arrived int64) {
	modified := trend * float64(d.deltas) * trendGain
	switch {
	case modified > d.threshold:
		d.overMillis += sendGap
		d.overCount++
		if d.overMillis > overuseTimeMillis && d.overCount > 1 && trend >= d.prevTrend {
			d.overMillis, d.overCount = 0, 0
			d.state = usageOver
		}
	case modified < -d.threshold:
		d.overMillis, d.overCount = 0, 0
		d.state = usageUnder
	default:
		d.overMillis, d.overCount = 0, 0
		d.state = usageNormal
	}
	abs := math.Abs(modified)
	if d.lastAdapted == 0 {
		d.lastAdapted = arrived
	}
	if abs > d.threshold+thresholdOutlier {
		d.lastAdapted = arrived
		return
	}
	k := thresholdUp
	if abs < d.threshold {
		k = thresholdDown
	}
	elapsed := min(float64(arrived-d.lastAdapted)/1000, thresholdMaxStep)
	d.threshold = min(max(d.threshold+k*(abs-d.threshold)*elapsed, thresholdMin), thresholdMax)
	d.lastAdapted = arrived
}

// slope is the least-squares slope of y over x.
func slope(points []struct{ x, y float64 }) float64 {
	var sx, sy float64
	for _, p := range points {
		sx += p.x
		sy += p.y
	}
	n := float64(len(points))
	mx, my := sx/n, sy/n
	var num, den float64
	for _, p := range points {
		num += (p.x - mx) * (p.y - my)
		den += (p.x - mx) * (p.x - mx)
	}
	if den == 0 {
		return 0
	}
	return num / den
}
