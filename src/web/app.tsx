/**
 * The shell: the token gate, the navigation, the project picker and the page of the current hash route. A 401 from
 * any call clears the kept token and shows the prompt again, on the same URL. The picked project is part of the URL
 * (`#/projects/<p>/…`), and every page's calls go to that project's routes.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { createApi } from './api.js';
import { FleetsPage } from './pages/fleets.js';
import { LoginPage } from './pages/login.js';
import { ModelsPage } from './pages/models.js';
import { OffersPage } from './pages/offers.js';
import { RunPage } from './pages/run.js';
import { RunsPage } from './pages/runs.js';
import { ProjectPicker } from './project-picker.js';
import { hrefOf, parseRoute, sectionOf, withProject, type Route } from './router.js';

const TOKEN_KEY = 'dstack.token';

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onHash = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  return route;
}

function Page({ route, api }: { route: Route; api: ReturnType<typeof createApi> }) {
  const { project } = route;
  switch (route.page) {
    case 'run':
      return <RunPage key={route.name} api={api} name={route.name} />;
    case 'models':
      return <ModelsPage api={api} model={route.model} project={project} />;
    case 'fleets':
      return <FleetsPage api={api} project={project} />;
    case 'offers':
      return <OffersPage api={api} />;
    default:
      return <RunsPage api={api} project={project} />;
  }
}

export function App() {
  const [token, setToken] = useState(() => sessionStorage.getItem(TOKEN_KEY) ?? undefined);
  const [notice, setNotice] = useState<string>();
  const route = useRoute();
  const onUnauthorized = () => {
    sessionStorage.removeItem(TOKEN_KEY);
    setNotice('The server no longer accepts the token (it was changed?). Enter it again.');
    setToken(undefined);
  };
  // The account routes (the picker's list) belong to no project; the pages' calls go to the picked one's.
  const accountApi = useMemo(() => createApi(token ?? '', onUnauthorized), [token]);
  const api = useMemo(() => createApi(token ?? '', onUnauthorized, route.project), [token, route.project]);
  useEffect(() => {
    document.title = route.page === 'run' ? `${route.name} · dstack` : `${sectionOf(route)[0]!.toUpperCase()}${sectionOf(route).slice(1)} · dstack`;
  }, [route]);

  if (!token) {
    return (
      <LoginPage
        notice={notice}
        onToken={(t) => {
          sessionStorage.setItem(TOKEN_KEY, t);
          setNotice(undefined);
          setToken(t);
        }}
      />
    );
  }
  const section = sectionOf(route);
  const nav: [Route, string][] = [
    [withProject({ page: 'runs' }, route.project), 'Runs'],
    [withProject({ page: 'models' }, route.project), 'Models'],
    [withProject({ page: 'fleets' }, route.project), 'Fleets'],
    [withProject({ page: 'offers' }, route.project), 'Offers'],
  ];
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand">dstack</span>
        <nav aria-label="Main">
          {nav.map(([r, label]) => (
            <a key={label} href={hrefOf(r)} aria-current={section === r.page ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <ProjectPicker api={accountApi} route={route} />
        <button
          type="button"
          class="link"
          onClick={() => {
            sessionStorage.removeItem(TOKEN_KEY);
            setToken(undefined);
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {/* Another project is other pages: nothing of the last one's state (polls, streams, forms) carries over. */}
        <Page key={route.project ?? ''} route={route} api={api} />
      </main>
    </>
  );
}
