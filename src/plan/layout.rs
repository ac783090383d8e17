//! systemd-repart's placement algorithm (`context_allocate_partitions`, `context_grow_partitions`,
//! `context_place_partitions` in systemd 252's src/partition/repart.c), on plain numbers.
//!
//! Everything is in bytes. Partitions are in definition order, existing partitions bound to
//! their definitions in place and foreign (undefined) partitions after them. Pure: no I/O.

/// `DEFAULT_MIN_SIZE`: the SizeMinBytes= systemd assumes when none is given.
pub const DEFAULT_MIN_SIZE: u64 = 10 << 20;
/// `HARD_MIN_SIZE`.
pub const HARD_MIN_SIZE: u64 = 4096;

/// A partition that exists on the target already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Current {
    pub offset: u64,
    pub size: u64,
    /// 0-based slot in the partition array.
    pub partno: u32,
    /// Free space after it (aligned), as `determine_current_padding` computes it.
    pub padding: u64,
}

#[derive(Debug, Clone, Default)]
pub struct Part {
    pub current: Option<Current>,
    /// Exists but has no definition: never touched.
    pub foreign: bool,
    pub priority: i32,
    pub weight: u64,
    pub padding_weight: u64,
    pub size_min: Option<u64>,
    pub size_max: Option<u64>,
    pub padding_min: Option<u64>,
    pub padding_max: Option<u64>,
    /// For new partitions: what the content needs (copied bytes, file-system minimum, LUKS
    /// header), already rounded to the grain.
    pub content_min: u64,

    // results
    pub dropped: bool,
    pub offset: u64,
    pub new_size: u64,
    pub new_padding: u64,
    pub partno: u32,
    #[doc(hidden)]
    pub allocated_to_area: Option<usize>,
    #[doc(hidden)]
    pub padding_area: Option<usize>,
    #[doc(hidden)]
    pub new_size_set: bool,
    #[doc(hidden)]
    pub new_padding_set: bool,
}

#[derive(Debug, Clone)]
struct FreeArea {
    after: Option<usize>,
    size: u64,
    allocated: u64,
}

pub struct Layout {
    pub grain: u64,
    /// First usable byte, aligned up to the grain.
    pub start: u64,
    /// End of the usable area, aligned down to the grain.
    pub end: u64,
    pub parts: Vec<Part>,
    areas: Vec<FreeArea>,
}

fn round_up(v: u64, g: u64) -> u64 {
    // saturating: a size too large for any disk stays too large (and fails to fit) instead of
    // wrapping round to a small one
    v.div_ceil(g).saturating_mul(g)
}

fn round_down(v: u64, g: u64) -> u64 {
    v / g * g
}

/// Why a layout could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoSpace {
    /// The largest free area that was available for new partitions.
    pub largest_free_area: u64,
    /// What the partitions need at the least, GPT included (as `--size=auto` computes it).
    pub needed_disk_size: u64,
}

impl Layout {
    /// `first_usable`/`last_usable` are LBAs (inclusive) of the table that is or will be on the
    /// disk; `sector` its sector size.
    pub fn new(grain: u64, sector: u64, first_usable: u64, last_usable: u64, parts: Vec<Part>) -> Self {
        let start = round_up(first_usable * sector, grain);
        let end = round_down((last_usable + 1) * sector, grain);
        let mut l = Layout { grain, start, end, parts, areas: Vec::new() };
        let left_boundary = l.parts.iter().filter_map(|p| p.current.map(|c| c.offset)).min();
        match left_boundary {
            None => {
                if end > start {
                    l.areas.push(FreeArea { after: None, size: end - start, allocated: 0 });
                }
            }
            Some(lb) => {
                let lb = round_down(lb, grain);
                if lb > start {
                    l.areas.push(FreeArea { after: None, size: lb - start, allocated: 0 });
                }
            }
        }
        for i in 0..l.parts.len() {
            if let Some(c) = l.parts[i].current
                && c.padding > 0
            {
                l.parts[i].padding_area = Some(l.areas.len());
                l.areas.push(FreeArea { after: Some(i), size: c.padding, allocated: 0 });
            }
        }
        l
    }

    fn min_size(&self, p: &Part) -> u64 {
        if p.foreign {
            return p.current.map_or(0, |c| c.size);
        }
        let mut sz = p.current.map_or(HARD_MIN_SIZE, |c| c.size);
        if p.current.is_none() && p.content_min > sz {
            sz = p.content_min;
        }
        round_up(p.size_min.unwrap_or(DEFAULT_MIN_SIZE), self.grain).max(sz)
    }

    fn max_size(&self, p: &Part) -> u64 {
        if p.foreign {
            return p.current.map_or(0, |c| c.size);
        }
        let Some(max) = p.size_max else { return u64::MAX };
        let mut sm = round_down(max, self.grain);
        if let Some(c) = p.current {
            sm = sm.max(c.size);
        }
        self.min_size(p).max(sm)
    }

    fn min_padding(p: &Part) -> u64 {
        p.padding_min.unwrap_or(0)
    }

    fn max_padding(p: &Part) -> u64 {
        p.padding_max.unwrap_or(u64::MAX)
    }

    fn min_size_with_padding(&self, p: &Part) -> u64 {
        let sz = self.min_size(p).saturating_add(Self::min_padding(p));
        match p.current {
            Some(c) => round_up(c.offset.saturating_add(sz), self.grain).saturating_sub(c.offset),
            None => round_up(sz, self.grain),
        }
    }

    fn available(a: &FreeArea) -> u64 {
        a.size - a.allocated
    }

    fn current_end(&self, a: &FreeArea) -> u64 {
        match a.after {
            None => Self::available(a),
            Some(i) => {
                let c = self.parts[i].current.expect("area follows an existing partition");
                round_up(c.offset + c.size, self.grain) + Self::available(a)
            }
        }
    }

    fn min_end(&self, a: &FreeArea) -> u64 {
        match a.after {
            None => 0,
            Some(i) => {
                let p = &self.parts[i];
                let c = p.current.expect("area follows an existing partition");
                round_up(c.offset + self.min_size_with_padding(p), self.grain)
            }
        }
    }

    fn available_for_new(&self, a: &FreeArea) -> u64 {
        self.current_end(a).saturating_sub(self.min_end(a))
    }

    fn allocate(&mut self) -> Result<(), u64> {
        for a in &mut self.areas {
            a.allocated = 0;
        }
        for p in &mut self.parts {
            p.allocated_to_area = None;
        }
        // smallest first (systemd uses qsort; ties keep their order here)
        let mut order: Vec<usize> = (0..self.areas.len()).collect();
        order.sort_by_key(|&i| self.available_for_new(&self.areas[i]));
        let areas: Vec<FreeArea> = order.iter().map(|&i| self.areas[i].clone()).collect();
        // remap indices
        for p in &mut self.parts {
            if let Some(pa) = p.padding_area {
                p.padding_area = order.iter().position(|&i| i == pa);
            }
        }
        self.areas = areas;
        let largest = self.areas.last().map_or(0, |a| self.available_for_new(a));
        for a in &self.areas {
            if self.current_end(a) < self.min_end(a) {
                return Err(largest);
            }
        }
        for pi in 0..self.parts.len() {
            let p = &self.parts[pi];
            if p.current.is_some() || p.dropped {
                continue;
            }
            let required = self.min_size_with_padding(p);
            let found = (0..self.areas.len()).find(|&ai| self.available_for_new(&self.areas[ai]) >= required);
            let Some(ai) = found else { return Err(largest) };
            self.parts[pi].allocated_to_area = Some(ai);
            self.areas[ai].allocated += required;
        }
        Ok(())
    }

    fn drop_one_priority(&mut self) -> bool {
        let mut priority = 0i32;
        let mut exists = false;
        for p in self.parts.iter().filter(|p| !p.dropped) {
            if p.priority < priority {
                continue;
            }
            if p.priority == priority {
                exists = exists || p.current.is_some();
                continue;
            }
            priority = p.priority;
            exists = p.current.is_some();
        }
        if priority <= 0 || exists {
            return false;
        }
        for p in self.parts.iter_mut() {
            if p.priority >= priority && !p.dropped {
                p.dropped = true;
            }
        }
        true
    }

    /// Places every partition, dropping priorities as systemd does when they do not fit.
    pub fn run(&mut self) -> Result<(), NoSpace> {
        loop {
            match self.allocate() {
                Ok(()) => break,
                Err(largest) => {
                    if !self.drop_one_priority() {
                        return Err(NoSpace { largest_free_area: largest, needed_disk_size: self.needed_disk_size() });
                    }
                }
            }
        }
        for ai in 0..self.areas.len() {
            self.grow_area(ai);
        }
        for p in self.parts.iter_mut() {
            if p.dropped {
                continue;
            }
            if p.current.is_none() || p.padding_area.is_some() {
                continue;
            }
            let c = p.current.expect("checked");
            p.new_size = c.size;
            p.new_size_set = true;
            p.new_padding = c.padding;
            p.new_padding_set = true;
        }
        self.place();
        Ok(())
    }

    /// `determine_auto_size`: the smallest disk these partitions fit on (new table).
    pub fn needed_disk_size(&self) -> u64 {
        const GPT_METADATA_SIZE: u64 = 1044 * 1024;
        let mut sum = round_up(GPT_METADATA_SIZE, 4096);
        for p in self.parts.iter().filter(|p| !p.dropped) {
            let m = match p.current {
                Some(c) => c.size.saturating_add(c.padding),
                None => self.min_size_with_padding(p),
            };
            sum = sum.saturating_add(m);
        }
        sum
    }

    fn scale_by_weight(mut value: u64, mut weight: u64, mut weight_sum: u64) -> u64 {
        loop {
            if weight == 0 {
                return 0;
            }
            if weight == weight_sum {
                return value;
            }
            if value <= u64::MAX / weight {
                return value * weight / weight_sum;
            }
            weight_sum = weight_sum.div_ceil(2);
            weight /= 2;
            let _ = &mut value;
        }
    }

    fn charge_size(&self, total: u64, amount: u64) -> u64 {
        total.saturating_sub(round_up(amount, self.grain))
    }

    fn in_area(p: &Part, ai: usize) -> bool {
        p.allocated_to_area == Some(ai) || p.padding_area == Some(ai)
    }

    /// One phase; returns false when a partition was charged and the phase must run again.
    fn grow_phase(&mut self, ai: usize, phase: u8, span: &mut u64, weight_sum: &mut u64) -> bool {
        for pi in 0..self.parts.len() {
            if !Self::in_area(&self.parts[pi], ai) {
                continue;
            }
            // the partition itself, then its padding, each charged once
            for padding in [false, true] {
                let p = &self.parts[pi];
                let (set, weight, rsz, xsz) = if padding {
                    (p.new_padding_set, p.padding_weight, Self::min_padding(p), Self::max_padding(p))
                } else {
                    (p.new_size_set, p.weight, self.min_size(p), self.max_size(p))
                };
                if set {
                    continue;
                }
                let share = Self::scale_by_weight(*span, weight, *weight_sum);
                let (charge, try_again) = match phase {
                    0 if rsz > share => (Some(rsz), true),
                    1 if xsz < share => (Some(xsz), true),
                    2 => (Some(round_down(share, self.grain).clamp(rsz, xsz.max(rsz))), false),
                    _ => (None, false),
                };
                if let Some(sz) = charge {
                    let p = &mut self.parts[pi];
                    if padding {
                        (p.new_padding, p.new_padding_set) = (sz, true);
                    } else {
                        (p.new_size, p.new_size_set) = (sz, true);
                    }
                    *span = self.charge_size(*span, sz);
                    *weight_sum -= weight;
                }
                if try_again {
                    return false;
                }
            }
        }
        true
    }

    fn grow_one(&mut self, pi: usize, span: &mut u64) {
        let p = &self.parts[pi];
        if p.foreign {
            return;
        }
        let mut m = round_down(p.new_size + *span, self.grain).max(p.new_size);
        m = m.min(self.max_size(p));
        *span = self.charge_size(*span, m - p.new_size);
        self.parts[pi].new_size = m;
    }

    fn grow_area(&mut self, ai: usize) {
        let mut weight_sum: u64 = self.parts.iter().filter(|p| Self::in_area(p, ai)).map(|p| p.weight + p.padding_weight).sum();
        let a = self.areas[ai].clone();
        let mut span = a.size;
        if let Some(i) = a.after {
            let c = self.parts[i].current.expect("existing");
            span += round_up(c.offset + c.size, self.grain) - c.offset;
        }
        let mut phase = 0u8;
        while phase < 3 {
            if self.grow_phase(ai, phase, &mut span, &mut weight_sum) {
                phase += 1;
            }
        }
        if span > 0
            && let Some(i) = a.after
        {
            self.grow_one(i, &mut span);
        }
        if span > 0 {
            for pi in 0..self.parts.len() {
                if self.parts[pi].allocated_to_area != Some(ai) {
                    continue;
                }
                self.grow_one(pi, &mut span);
                if span == 0 {
                    break;
                }
            }
        }
        if span > 0
            && let Some(i) = a.after
        {
            self.parts[i].new_padding += span;
        }
    }

    fn place(&mut self) {
        let mut partno = 0u32;
        for p in &self.parts {
            if let Some(c) = p.current
                && c.partno >= partno
            {
                partno = c.partno + 1;
            }
        }
        for p in self.parts.iter_mut() {
            if let Some(c) = p.current {
                p.offset = c.offset;
                p.partno = c.partno;
            }
        }
        for ai in 0..self.areas.len() {
            let a = &self.areas[ai];
            let mut start = match a.after {
                Some(i) => {
                    let p = &self.parts[i];
                    p.offset + p.new_size + p.new_padding
                }
                None => self.start,
            };
            start = round_up(start, self.grain);
            for p in self.parts.iter_mut() {
                if p.allocated_to_area != Some(ai) {
                    continue;
                }
                p.offset = start;
                p.partno = partno;
                partno += 1;
                start += p.new_size + p.new_padding;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_part(min: Option<u64>, max: Option<u64>, weight: u64) -> Part {
        Part { weight, size_min: min, size_max: max, ..Default::default() }
    }

    #[test]
    fn weights_share_the_disk_and_limits_hold() {
        // 1 GiB disk, 512-byte sectors: usable LBAs 2048 ..= 2097118
        let parts = vec![new_part(Some(64 << 20), Some(64 << 20), 1000), new_part(None, None, 1000), new_part(None, None, 3000)];
        let mut l = Layout::new(4096, 512, 2048, 2_097_118, parts);
        l.run().unwrap();
        assert_eq!(l.parts[0].offset, 1 << 20);
        assert_eq!(l.parts[0].new_size, 64 << 20);
        assert_eq!(l.parts[1].offset, (1 << 20) + (64 << 20));
        // the rest is shared 1:3, rounded down to the grain, and the remainder goes to the first
        let total = l.end - l.start;
        let used: u64 = l.parts.iter().map(|p| p.new_size + p.new_padding).sum();
        assert_eq!(used, total);
        assert!(l.parts[2].new_size >= 3 * (l.parts[1].new_size - 4096) - 4 * 4096);
        assert_eq!([l.parts[0].partno, l.parts[1].partno, l.parts[2].partno], [0, 1, 2]);
    }

    #[test]
    fn too_small_disk_reports_what_is_needed() {
        let parts = vec![new_part(Some(600 << 20), None, 1000), new_part(Some(600 << 20), None, 1000)];
        let mut l = Layout::new(4096, 512, 2048, 2_097_118, parts);
        let e = l.run().unwrap_err();
        assert!(e.needed_disk_size > 1200 << 20);
    }

    #[test]
    fn positive_priorities_are_dropped_first() {
        let mut a = new_part(Some(600 << 20), None, 1000);
        a.priority = 0;
        let mut b = new_part(Some(600 << 20), None, 1000);
        b.priority = 10;
        let mut l = Layout::new(4096, 512, 2048, 2_097_118, vec![a, b]);
        l.run().unwrap();
        assert!(!l.parts[0].dropped);
        assert!(l.parts[1].dropped);
    }
}
