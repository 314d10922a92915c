// Who the member is: the access token every API call sends as `Authorization: Bearer`.
//
// Locally, `navigator up` prints a link whose fragment carries a development token
// (`/#token=...`). A fragment is never sent to the server, so the token never reaches a
// log; it is kept in this tab's session storage and taken off the address bar at once.
//
// Deployed (the page's <meta> tags name the Supabase project and its public anon key),
// members sign in with Supabase Auth, and the session is kept the way supabase-js keeps
// it: in local storage under `sb-<project ref>-auth-token`, as {access_token,
// refresh_token, expires_at, ...}. A supabase-js app on the same origin therefore shares
// the session with this page, and a magic link's redirect (`#access_token=...`) signs in
// here as it would there. The access token is refreshed before it expires.

const DEV_KEY = "navigator.dev-token";
const REFRESH_MARGIN_SECONDS = 60;

function meta(name) {
  const element = document.querySelector(`meta[name="navigator:${name}"]`);
  return element ? element.content.trim() : "";
}

export const config = {
  supabaseUrl: meta("supabase-url").replace(/\/+$/, ""),
  anonKey: meta("supabase-anon-key"),
  uploadMaxBytes: Number(meta("upload-max-bytes")) || 0,
};

export const usesSupabase = Boolean(config.supabaseUrl && config.anonKey);

function storageKey() {
  const ref = new URL(config.supabaseUrl).hostname.split(".")[0];
  return `sb-${ref}-auth-token`;
}

function readSupabaseSession() {
  try {
    const raw = localStorage.getItem(storageKey());
    const session = raw ? JSON.parse(raw) : null;
    return session && typeof session.access_token === "string" ? session : null;
  } catch {
    return null;
  }
}

function keepSupabaseSession(session) {
  const expiresIn = Number(session.expires_in) || 3600;
  const stored = {
    ...session,
    expires_in: expiresIn,
    expires_at: Number(session.expires_at) || Math.floor(Date.now() / 1000) + expiresIn,
    token_type: session.token_type || "bearer",
  };
  localStorage.setItem(storageKey(), JSON.stringify(stored));
  return stored;
}

function claims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part + "=".repeat((4 - (part.length % 4)) % 4)));
  } catch {
    return {};
  }
}

/** Takes a token out of the URL's fragment (a dev token, or Supabase's redirect), if any.
 *  Returns an error message Supabase sent back in the fragment, or "". */
export function takeTokenFromUrl() {
  const fragment = new URLSearchParams(window.location.hash.replace(/^#/, ""));
  let error = "";
  if (fragment.has("token")) {
    sessionStorage.setItem(DEV_KEY, fragment.get("token"));
  } else if (fragment.has("access_token") && usesSupabase) {
    keepSupabaseSession(Object.fromEntries(fragment.entries()));
  } else if (fragment.has("error_description")) {
    error = fragment.get("error_description");
  } else {
    return "";
  }
  history.replaceState(null, "", window.location.pathname + window.location.search);
  return error;
}

/** The member's id and email (from the token's claims), or null when signed out. */
export function member() {
  const token = currentToken();
  if (!token) return null;
  const { sub, email, exp } = claims(token);
  if (exp && exp * 1000 < Date.now() && !usesSupabase) return null;
  return { id: sub || "", email: email || "" };
}

function currentToken() {
  const dev = sessionStorage.getItem(DEV_KEY);
  if (dev) return dev;
  if (usesSupabase) {
    const session = readSupabaseSession();
    return session ? session.access_token : "";
  }
  return "";
}

async function gotrue(path, body, token) {
  const headers = { apikey: config.anonKey, "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(`${config.supabaseUrl}/auth/v1${path}`, {
    method: "POST", headers, body: JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(data.error_description || data.msg || data.message
      || `sign-in failed (${response.status})`);
  }
  return data;
}

let refreshing = null;

async function refresh(session) {
  if (!refreshing) {
    refreshing = gotrue("/token?grant_type=refresh_token",
                        { refresh_token: session.refresh_token })
      .then(keepSupabaseSession)
      .finally(() => { refreshing = null; });
  }
  return refreshing;
}

/** A token fit to send now: a Supabase session close to its end is refreshed first. */
export async function accessToken({ forceRefresh = false } = {}) {
  const dev = sessionStorage.getItem(DEV_KEY);
  if (dev || !usesSupabase) return dev || "";
  let session = readSupabaseSession();
  if (!session) return "";
  const ending = session.expires_at - REFRESH_MARGIN_SECONDS < Date.now() / 1000;
  if ((ending || forceRefresh) && session.refresh_token) {
    try {
      session = await refresh(session);
    } catch {
      localStorage.removeItem(storageKey());
      return "";
    }
  }
  return session.access_token;
}

export async function signInWithPassword(email, password) {
  keepSupabaseSession(await gotrue("/token?grant_type=password", { email, password }));
}

export async function sendSignInLink(email) {
  const back = encodeURIComponent(window.location.origin + window.location.pathname);
  await gotrue(`/otp?redirect_to=${back}`, { email, create_user: false });
}

/** Forgets a development token the API refused (expired, or from another home), so that
 *  the next sign-in is not shadowed by it. */
export function forgetDevToken() {
  sessionStorage.removeItem(DEV_KEY);
}

export async function signOut() {
  const dev = sessionStorage.getItem(DEV_KEY);
  sessionStorage.removeItem(DEV_KEY);
  if (!dev && usesSupabase) {
    const session = readSupabaseSession();
    localStorage.removeItem(storageKey());
    if (session) {
      await gotrue("/logout", {}, session.access_token).catch(() => {});
    }
  }
}
