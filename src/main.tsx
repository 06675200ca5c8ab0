import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createLabTab } from './store/tab-lock';
import { App } from './ui/App';
import { TabGate } from './ui/TabGate';
import './ui/style.css';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <TabGate tab={createLabTab()}>
      <App />
    </TabGate>
  </StrictMode>,
);
