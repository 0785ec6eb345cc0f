//! The places a generated population lives in: Tianjin's districts, their
//! streets and towns, and their communities and villages, with codes.

use super::*;

/// A district as the generator lays it out.
struct DistrictSpec {
    code: &'static str,
    name: &'static str,
    /// Resident population in 10 000s (2020 census): the weight of the district.
    population_10k: f64,
    /// Streets (街道) and towns (镇) modelled.
    streets: u32,
    towns: u32,
    /// Share of households with rural hukou.
    rural_share: f64,
}

const fn district(
    code: &'static str,
    name: &'static str,
    population_10k: f64,
    streets: u32,
    towns: u32,
    rural_share: f64,
) -> DistrictSpec {
    DistrictSpec { code, name, population_10k, streets, towns, rural_share }
}

const DISTRICT_SPECS: [DistrictSpec; 16] = [
    district("120101", "和平", 35.5, 6, 0, 0.0),
    district("120102", "河东", 85.8, 13, 0, 0.01),
    district("120103", "河西", 82.2, 14, 0, 0.01),
    district("120104", "南开", 89.0, 12, 0, 0.01),
    district("120105", "河北", 64.8, 10, 0, 0.01),
    district("120106", "红桥", 48.3, 10, 0, 0.01),
    district("120110", "东丽", 85.7, 11, 0, 0.15),
    district("120111", "西青", 119.5, 3, 7, 0.30),
    district("120112", "津南", 92.8, 4, 8, 0.30),
    district("120113", "北辰", 90.9, 9, 5, 0.30),
    district("120114", "武清", 115.1, 6, 9, 0.55),
    district("120115", "宝坻", 72.2, 6, 9, 0.60),
    district("120116", "滨海新区", 206.7, 12, 3, 0.15),
    district("120117", "宁河", 39.5, 2, 10, 0.60),
    district("120118", "静海", 78.7, 2, 12, 0.60),
    district("120119", "蓟州", 79.5, 1, 14, 0.65),
];

/// Districts whose rural households are being resettled into flats ("上楼" farmers).
pub(super) const URBANISING: [&str; 5] = ["120110", "120111", "120112", "120113", "120116"];

/// Tianjin's districts, streets and communities as the generator lays them out.
#[derive(Debug, Clone)]
pub struct Places {
    pub districts: Vec<DistrictPlaces>,
}

#[derive(Debug, Clone)]
pub struct DistrictPlaces {
    /// GB/T 2260 code, e.g. `120111`.
    pub code: &'static str,
    pub name: &'static str,
    /// Relative weight (resident population, 10 000s).
    pub weight: f64,
    pub rural_share: f64,
    pub streets: Vec<StreetPlaces>,
    /// (street, community) of every community, and its weight, for picking.
    community_refs: Vec<(u8, u8)>,
    community_weights: Vec<f64>,
}

#[derive(Debug, Clone)]
pub struct StreetPlaces {
    /// 9 digits: the district code and 3 more (`001…` streets, `101…` towns).
    pub code: String,
    /// A town (镇) rather than a street (街道).
    pub town: bool,
    /// 12-digit codes: the street code and 3 more (`001…` communities, `201…` villages).
    pub communities: Vec<String>,
}

/// A community, by its place in [`Places`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PlaceRef {
    pub(super) district: u8,
    pub(super) street: u8,
    pub(super) community: u8,
}

impl Places {
    /// The layout every generation uses.
    pub fn tianjin() -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(PLACES_SEED);
        let districts = DISTRICT_SPECS
            .iter()
            .map(|spec| {
                let mut streets = Vec::new();
                let (mut community_refs, mut community_weights) = (Vec::new(), Vec::new());
                for k in 0..spec.streets + spec.towns {
                    let town = k >= spec.streets;
                    let number = if town { 101 + k - spec.streets } else { k + 1 };
                    let code = format!("{}{number:03}", spec.code);
                    let n: u32 = rng.random_range(5..=12);
                    let communities = (0..n)
                        .map(|j| {
                            // A town: two seat communities, then villages.
                            let number = if town && j >= 2 { 199 + j } else { j + 1 };
                            community_refs.push((streets.len() as u8, j as u8));
                            community_weights.push(rng.random_range(0.5..1.5));
                            format!("{code}{number:03}")
                        })
                        .collect();
                    streets.push(StreetPlaces { code, town, communities });
                }
                DistrictPlaces {
                    code: spec.code,
                    name: spec.name,
                    weight: spec.population_10k,
                    rural_share: spec.rural_share,
                    streets,
                    community_refs,
                    community_weights,
                }
            })
            .collect();
        Self { districts }
    }

    /// Every community code, district by district.
    pub fn communities(&self) -> impl Iterator<Item = &str> {
        self.districts.iter().flat_map(|d| d.streets.iter().flat_map(|s| s.communities.iter().map(String::as_str)))
    }

    pub(super) fn pick_district(&self, rng: &mut impl Rng) -> u8 {
        let weights: Vec<f64> = self.districts.iter().map(|d| d.weight).collect();
        pick_index(rng, &weights) as u8
    }

    pub(super) fn pick_in(&self, rng: &mut impl Rng, district: u8) -> PlaceRef {
        let d = &self.districts[district as usize];
        let (street, community) = d.community_refs[pick_index(rng, &d.community_weights)];
        PlaceRef { district, street, community }
    }

    pub(super) fn pick(&self, rng: &mut impl Rng) -> PlaceRef {
        let d = self.pick_district(rng);
        self.pick_in(rng, d)
    }

    pub(super) fn district(&self, p: PlaceRef) -> &DistrictPlaces {
        &self.districts[p.district as usize]
    }

    pub(super) fn street(&self, p: PlaceRef) -> &StreetPlaces {
        &self.district(p).streets[p.street as usize]
    }

    pub(super) fn residence(&self, p: PlaceRef) -> anyhow::Result<Residence> {
        let street = self.street(p);
        Residence::parse(self.district(p).code, &street.code, &street.communities[p.community as usize])
            .map_err(|(part, e)| anyhow!("generated residence ({part:?}): {e}"))
    }
}
