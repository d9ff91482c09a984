// navigator.geolocation gives WGS-84 (the W3C Geolocation API's datum), with its accuracy in metres.

const MESSAGES = {
  1: "未获得定位权限：请在浏览器或微信设置中允许获取位置",
  2: "暂时无法定位，请到开阔处重试",
  3: "定位超时，请重试",
};

export function locate({ precise = true, timeout = 20000, maximumAge = 0 } = {}) {
  return new Promise((resolve, reject) => {
    if (!navigator.geolocation) {
      reject(new Error("此浏览器不支持定位"));
      return;
    }
    navigator.geolocation.getCurrentPosition(
      (position) => resolve({
        latitude: position.coords.latitude,
        longitude: position.coords.longitude,
        accuracy: Math.round(position.coords.accuracy * 10) / 10,
        coord_type: "wgs84",
      }),
      (error) => reject(new Error(MESSAGES[error.code] || "定位失败")),
      { enableHighAccuracy: precise, timeout, maximumAge },
    );
  });
}
