//! Query-string parsing with errors that name the parameter. Replaces axum's `Query` extractor so
//! that every rejection uses the `ApiError` JSON format.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use geo::Point;

use super::error::ApiError;
use crate::geodesy::Crs;
use crate::model::Bbox;

/// The decoded query string, in order.
pub struct Params(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str::<Vec<(String, String)>>(query)
            .map(Params)
            .map_err(|e| {
                ApiError::bad(
                    "query",
                    format!("cannot be decoded ({e}); percent-encode the values"),
                )
            })
    }
}

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `url` with these parameters, `limit` and `offset` set: a page's link.
    pub fn page_url(&self, url: &str, limit: usize, offset: usize) -> String {
        let mut pairs: Vec<(String, String)> = self
            .0
            .iter()
            .filter(|(k, _)| k != "offset" && k != "limit")
            .cloned()
            .collect();
        pairs.push(("limit".into(), limit.to_string()));
        pairs.push(("offset".into(), offset.to_string()));
        format!(
            "{url}?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    }

    /// Fail on the first parameter not in `allowed`.
    pub fn only(&self, allowed: &[&str]) -> Result<(), ApiError> {
        match self.0.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
            Some((k, _)) => Err(ApiError::UnknownParameter {
                name: k.clone(),
                allowed: allowed.join(", "),
            }),
            None => Ok(()),
        }
    }

    pub fn f64(&self, name: &str) -> Result<Option<f64>, ApiError> {
        self.get(name)
            .map(|v| {
                v.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| ApiError::bad(name, format!("expected a number, got '{v}'")))
            })
            .transpose()
    }

    pub fn required_f64(&self, name: &str, example: &str) -> Result<f64, ApiError> {
        self.f64(name)?
            .ok_or_else(|| ApiError::bad(name, format!("is required, e.g. {name}={example}")))
    }

    /// A whole number in `min..=max`, or `default` when absent.
    pub fn int(&self, name: &str, min: u64, max: u64, default: u64) -> Result<u64, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ if max == u64::MAX => Err(ApiError::bad(
                    name,
                    format!("expected a whole number of at least {min}, got '{v}'"),
                )),
                _ => Err(ApiError::bad(
                    name,
                    format!("expected a whole number from {min} to {max}, got '{v}'"),
                )),
            },
        }
    }

    /// `service`, when given: one of the four services a post offers.
    pub fn service(&self) -> Result<Option<crate::model::Service>, ApiError> {
        self.get("service")
            .map(|s| {
                crate::model::Service::parse(s).ok_or_else(|| {
                    ApiError::bad(
                        "service",
                        format!(
                            "'{s}' is unknown; use one of {}",
                            crate::model::Service::ALL.map(|s| s.name()).join(", ")
                        ),
                    )
                })
            })
            .transpose()
    }

    /// `crs` on gridmap's own endpoints: a shorthand or a URI, default `wgs84`.
    pub fn crs(&self) -> Result<Crs, ApiError> {
        super::crs::crs_param(self, "crs", Crs::Wgs84)
    }

    /// The `lon` and `lat` parameters, range-checked, in the request's CRS.
    pub fn lon_lat(&self) -> Result<Point, ApiError> {
        let lon = self.required_f64("lon", "119.58")?;
        let lat = self.required_f64("lat", "31.99")?;
        if !(-180.0..=180.0).contains(&lon) {
            return Err(ApiError::bad(
                "lon",
                format!("{lon} is outside -180..180; give longitude in degrees (lon first)"),
            ));
        }
        if !(-90.0..=90.0).contains(&lat) {
            return Err(ApiError::bad(
                "lat",
                format!("{lat} is outside -90..90; give latitude in degrees"),
            ));
        }
        Ok(Point::new(lon, lat))
    }

    /// `bbox=min_lon,min_lat,max_lon,max_lat` (a 6-number 3D box is accepted, heights ignored)
    /// in `crs` (its axis order and datum), as the WGS84 box holding it.
    pub fn bbox(&self, crs: Crs) -> Result<Option<Bbox>, ApiError> {
        let Some(b) = self.bbox_in(crs.lat_first())? else {
            return Ok(None);
        };
        if !crs.shifts() {
            return Ok(Some(b));
        }
        let r = crs.rect_to_wgs84(b.rect());
        Bbox::new(r.min().x, r.min().y, r.max().x, r.max().y)
            .map(Some)
            .map_err(|e| ApiError::bad("bbox", e))
    }

    /// `bbox` with its axes in the order of its CRS: lon,lat, or lat,lon when `lat_first`
    /// (EPSG:4326, EPSG:4490). Given once with commas (`bbox=a,b,c,d`), or exploded into one parameter per
    /// number (`bbox=a&bbox=b&bbox=c&bbox=d`), the form OpenAPI-generated clients may send.
    pub fn bbox_in(&self, lat_first: bool) -> Result<Option<Bbox>, ApiError> {
        let parts: Vec<&str> = self
            .0
            .iter()
            .filter(|(k, _)| k == "bbox")
            .map(|(_, v)| v.as_str())
            .collect();
        if parts.is_empty() {
            return Ok(None);
        }
        let raw = parts.join(",");
        let hint = if lat_first {
            "in a latitude-first CRS (EPSG:4326, EPSG:4490) give four numbers min_lat,min_lon,max_lat,max_lon, e.g. bbox=31.97,119.55,32.01,119.60"
        } else {
            "give four numbers min_lon,min_lat,max_lon,max_lat, e.g. bbox=119.55,31.97,119.60,32.01"
        };
        let nums: Vec<f64> = raw
            .split(',')
            .map(|s| s.trim().parse::<f64>().ok().filter(|x| x.is_finite()))
            .collect::<Option<_>>()
            .ok_or_else(|| {
                ApiError::bad("bbox", format!("'{raw}' is not a list of numbers; {hint}"))
            })?;
        let [a, b, c, d] = match nums[..] {
            [a, b, c, d] => [a, b, c, d],
            [a, b, _, c, d, _] => [a, b, c, d],
            _ => {
                return Err(ApiError::bad(
                    "bbox",
                    format!("has {} numbers; {hint}", nums.len()),
                ));
            }
        };
        let [a, b, c, d] = if lat_first {
            [b, a, d, c]
        } else {
            [a, b, c, d]
        };
        Bbox::new(a, b, c, d)
            .map(Some)
            .map_err(|e| ApiError::bad("bbox", e))
    }
}
